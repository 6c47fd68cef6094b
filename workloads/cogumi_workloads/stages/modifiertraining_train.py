"""``modifiertraining.train``: a LoRA adapter on the teachers' verified examples.

Rank ``spec.lora.rank``, else the domain's default (``DEFAULT_RANK``: code 128, reasoning 112,
automation 96, math 96, hard-math 112, science 80, finance 72, creative 88); alpha twice the rank
unless set. Where CUDA and bitsandbytes are present the base is loaded in 4-bit NF4 (QLoRA),
otherwise trained at full precision (metric ``quantized4bit``).

Reads ``teacher-data``; writes artifact ``trained-adapter`` (peft folder + ``training.json``).
Metrics: steps, lossFirst, lossLast (+ tenth means, min), examples, rank, trainableParameters,
quantized4bit, adapterBytes.
"""

from __future__ import annotations

from cogumi_api.common import DEFAULT_RANK
from cogumi_api.training import ModifierTrainingSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.training import sft
from cogumi_workloads.training.adapters import WEIGHTS
from cogumi_workloads.training.files import read_rows
from cogumi_workloads.training.modelio import device_metrics, load_model, model_path

OUTPUT = "trained-adapter"


def run(ctx: StageContext[ModifierTrainingSpec]) -> None:
    spec = ctx.spec
    _, teacher_data = ctx.input("teacher-data")
    rows = read_rows(teacher_data / "accepted.jsonl")
    if not rows:
        raise PermanentError("the teachers produced no verified example (see stage teach): nothing to train on")
    rank = spec.lora.rank or DEFAULT_RANK[spec.domain]
    loaded = load_model(model_path(ctx, spec.base_model, "spec.baseModel"), want_4bit=True)
    model = sft.with_lora(loaded.model, spec.lora, rank)
    encoded = sft.encode(loaded.tokenizer, [sft.Example(r["prompt"], r["answer"]) for r in rows],
                         spec.training.max_seq_length)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    ctx.log.info("training the modifier", domain=spec.domain, examples=len(encoded), rank=rank,
                 trainableParameters=trainable, how=loaded.note)
    curve, seconds = sft.train_and_save(model, loaded, encoded, spec.training, ctx.output_path(OUTPUT), ctx.log,
                                        rank=rank, domain=spec.domain)
    weights = (ctx.output_path(OUTPUT) / WEIGHTS).stat().st_size
    ctx.metrics.update(curve.summary())
    ctx.metrics.update(device_metrics())
    ctx.metrics.update({"examples": float(len(encoded)), "rank": float(rank), "trainableParameters": float(trainable),
                        "quantized4bit": float(loaded.quantized4bit), "adapterBytes": float(weights),
                        "trainSeconds": round(seconds, 2),
                        "tokensPerSecond": round(curve.tokens / seconds, 1) if seconds else 0.0})
    ctx.message = f"{loaded.note}; rank {rank}, {len(curve.losses)} steps on {len(encoded)} examples"
    ctx.publish("trained-adapter", OUTPUT)
