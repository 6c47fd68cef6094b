"""``basetraining.train``: supervised fine-tuning of a LoRA adapter on the base model (plan 1A).

Data: ``spec.data`` (see :mod:`cogumi_workloads.training.data`) plus, when the ``distill`` stage
ran, its ``distilled`` pairs. ``method: qlora`` loads the base in 4-bit NF4 with double
quantisation (bitsandbytes, bf16 compute) where CUDA is present; on a CPU, or with
``method: lora``, it trains plain LoRA at full precision. Which one ran is on status: metric
``quantized4bit`` (1/0) and the stage message. LoRA rank ``spec.lora.rank`` (16 when unset),
alpha twice the rank unless set.

Writes artifact ``adapter`` (a peft adapter folder plus ``training.json`` with the loss curve).
Metrics: steps, lossFirst, lossLast (and first/last tenth means, min), examples, distilledPairs,
trainableParameters, quantized4bit, validationAccuracy with validationN and its Wilson 95 %
interval (validationCiLow/High) — the shared evaluation function on the data's validation split.
"""

from __future__ import annotations

from cogumi_api.training import BaseTrainingSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.tasks.evaluate import evaluate
from cogumi_workloads.training import data as training_data
from cogumi_workloads.training import sft
from cogumi_workloads.training.files import read_rows
from cogumi_workloads.training.modelio import EVAL_BATCH_SIZE, device_metrics, for_eval, load_model, model_path

OUTPUT = "adapter"
DEFAULT_RANK = 16


def run(ctx: StageContext[BaseTrainingSpec]) -> None:
    spec = ctx.spec
    data = training_data.load(ctx, spec.data)
    examples = data.examples()
    distilled = 0
    if "distilled" in ctx.inputs:
        pairs = read_rows(ctx.inputs["distilled"] / "pairs.jsonl")
        examples += [sft.Example(r["prompt"], r["answer"]) for r in pairs]
        distilled = len(pairs)
    if not examples:
        raise PermanentError(f"no training examples in {data.origin}")
    base = model_path(ctx, spec.base_model, "spec.baseModel")
    loaded = load_model(base, want_4bit=spec.method == "qlora")
    ctx.log.info("base model loaded", path=str(base), device=loaded.device, quantized4bit=loaded.quantized4bit,
                 how=loaded.note)
    rank = spec.lora.rank or DEFAULT_RANK
    model = sft.with_lora(loaded.model, spec.lora, rank)
    encoded = sft.encode(loaded.tokenizer, examples, spec.training.max_seq_length)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    ctx.log.info("training", examples=len(encoded), rank=rank, trainableParameters=trainable, origin=data.origin)
    curve, seconds = sft.train_and_save(model, loaded, encoded, spec.training, ctx.output_path(OUTPUT), ctx.log,
                                        rank=rank, method=spec.method)
    ctx.metrics.update(curve.summary())
    ctx.metrics.update(device_metrics())
    ctx.metrics.update({"examples": float(len(encoded)), "distilledPairs": float(distilled), "rank": float(rank),
                        "trainableParameters": float(trainable), "quantized4bit": float(loaded.quantized4bit),
                        "trainSeconds": round(seconds, 2),
                        "tokensPerSecond": round(curve.tokens / seconds, 1) if seconds else 0.0,
                        "secondsPerStep": round(seconds / max(1, len(curve.losses)), 4)})
    if data.validation:
        result = evaluate(for_eval(model, loaded.tokenizer, "base+adapter", loaded.device), data.suite,
                          split="validation", items=data.validation, log=ctx.log, batch_size=EVAL_BATCH_SIZE)
        ctx.metrics.update({"validationAccuracy": result.accuracy, "validationN": float(result.n),
                            "validationCiLow": result.ci_low, "validationCiHigh": result.ci_high})
    ctx.message = f"{loaded.note}; {len(curve.losses)} steps, loss {curve.summary().get('lossFirst')} → " \
                  f"{curve.summary().get('lossLast')}"
    ctx.publish("adapter", OUTPUT)
