"""``basetraining.merge``: fold the trained LoRA adapter into the base model (a full HF model).

The base is loaded at full precision (float32 on a CPU, bfloat16 on CUDA) even when the adapter
was trained against a 4-bit base: merging into the full-precision weights is the usual QLoRA
practice. ``merge_and_unload`` folds ``s·B·A`` into each adapted weight; the merged model is saved
as safetensors with the base's tokenizer and generation config.

Check: on a fixed probe text the merged model's logits are compared with base+adapter's; the
largest absolute difference is metric ``mergeMaxLogitDiff``. Writes artifact ``model``.
Metrics: parameters, modelBytes, mergeMaxLogitDiff.
"""

from __future__ import annotations

from cogumi_api.training import BaseTrainingSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.uris import atomic_dir
from cogumi_workloads.training.modelio import attach_adapter, load_model, model_path

OUTPUT = "model"
PROBE = "Question: What is 12 times 7?\nAnswer:"


def run(ctx: StageContext[BaseTrainingSpec]) -> None:
    import torch

    _, adapter = ctx.input("adapter")
    base = model_path(ctx, ctx.spec.base_model, "spec.baseModel")
    loaded = load_model(base, want_4bit=False, for_training=False)
    model = attach_adapter(loaded.model, adapter)
    probe = loaded.tokenizer(PROBE, return_tensors="pt").input_ids.to(loaded.device)
    with torch.no_grad():
        before = model(probe).logits.float()
        merged = model.merge_and_unload()
        after = merged(probe).logits.float()
    diff = float((before - after).abs().max())
    ctx.log.info("adapter merged", maxLogitDiff=round(diff, 6), device=loaded.device)
    with atomic_dir(ctx.output_path(OUTPUT)) as folder:
        merged.save_pretrained(folder, safe_serialization=True)
        loaded.tokenizer.save_pretrained(folder)
    art = ctx.publish("model", OUTPUT)
    ctx.metrics.update({"parameters": float(sum(p.numel() for p in merged.parameters())),
                        "modelBytes": float(art.bytes or 0), "mergeMaxLogitDiff": round(diff, 6)})
    ctx.message = f"merged the adapter into the base ({loaded.device}); max logit difference {diff:.2e}"
