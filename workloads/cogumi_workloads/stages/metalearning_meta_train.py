"""``metalearning.meta-train``: Reptile or first-order MAML over a LoRA adapter across domains.

Support tasks: the first ``SUPPORT_PER_DOMAIN`` items of each domain's train split, as
prompt → reference-answer pairs (rendered like the shared evaluation's prompts); held-out loss:
the first ``HELD_OUT_PER_DOMAIN`` validation items of each domain. The algorithm, step counts and
learning rates come from the spec (see :mod:`cogumi_workloads.training.meta`); LoRA rank
``spec.lora.rank`` (16 by default). QLoRA base where CUDA and bitsandbytes are present.

Writes artifact ``adapter`` (the meta-learned peft adapter + ``meta.json``). Metrics: metaSteps,
innerSteps, domains, heldOutLossBefore, heldOutLossAfter, heldOutLossReduction (before − after: above 0
when meta-training helped on the held-out tasks), quantized4bit, trainSeconds.
"""

from __future__ import annotations

import time

from cogumi_api.training import MetaLearningSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.uris import atomic_dir
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.training import sft
from cogumi_workloads.training.files import write_json
from cogumi_workloads.training.meta import meta_train
from cogumi_workloads.training.modelio import device_metrics, load_model, model_path

OUTPUT = "adapter"
SUPPORT_PER_DOMAIN = 256
HELD_OUT_PER_DOMAIN = 8
BATCH_SIZE = 4
MAX_LEN = 384
DEFAULT_RANK = 16


def _encoded(tokenizer: object, domain: str, split: str, limit: int) -> list[tuple[list[int], list[int]]]:
    items = get_suite(domain).split(split, limit)  # type: ignore[arg-type]
    return sft.encode(tokenizer, [sft.Example(i.prompt, i.answer) for i in items], MAX_LEN)


def run(ctx: StageContext[MetaLearningSpec]) -> None:
    spec = ctx.spec
    loaded = load_model(model_path(ctx, spec.base_model, "spec.baseModel"), want_4bit=True)
    rank = spec.lora.rank or DEFAULT_RANK
    model = sft.with_lora(loaded.model, spec.lora, rank)
    tok = loaded.tokenizer
    support = {d: _encoded(tok, d, "train", SUPPORT_PER_DOMAIN) for d in spec.domains}
    held_out = {d: _encoded(tok, d, "validation", HELD_OUT_PER_DOMAIN) for d in spec.domains}
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    start = time.monotonic()
    result = meta_train(model, pad, loaded.device, support, held_out, spec.algorithm, spec.meta_steps,
                        spec.inner_steps, spec.inner_learning_rate, spec.meta_learning_rate, BATCH_SIZE,
                        seed=0, log=ctx.log)
    seconds = time.monotonic() - start
    with atomic_dir(ctx.output_path(OUTPUT)) as folder:
        model.save_pretrained(folder)
        write_json(folder / "meta.json", {"algorithm": spec.algorithm, "domains": list(spec.domains),
                                          "metaSteps": spec.meta_steps, "innerSteps": spec.inner_steps,
                                          "heldOutLossBefore": result.loss_before,
                                          "heldOutLossAfter": result.loss_after, "how": loaded.note})
    ctx.metrics.update({"metaSteps": float(spec.meta_steps), "innerSteps": float(spec.inner_steps),
                        "domains": float(len(spec.domains)), "heldOutLossBefore": round(result.loss_before, 5),
                        "heldOutLossAfter": round(result.loss_after, 5),
                        "heldOutLossReduction": round(result.loss_before - result.loss_after, 5),
                        "quantized4bit": float(loaded.quantized4bit), "trainSeconds": round(seconds, 2)})
    ctx.metrics.update(device_metrics())
    ctx.message = (f"{spec.algorithm} over {', '.join(spec.domains)}: held-out loss {result.loss_before:.3f} → "
                   f"{result.loss_after:.3f} ({loaded.note})")
    ctx.publish("adapter", OUTPUT)
