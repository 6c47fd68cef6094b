"""``modifiertraining.compress``: compress the adapter and measure what it costs.

``spec.compression.method``: ``svd`` (rank reduction to ``targetRank``, half the trained rank when
unset), ``int8`` (per-row int8) or ``none`` — see :mod:`cogumi_workloads.training.adapters`.
Measured: the adapter's weight bytes before and after, and the accuracy of base+adapter before
and after compression on the domain's validation split (at most ``spec.samples`` items), scored as
``spec.evaluation`` says (llama.cpp by default).

Reads ``trained-adapter``; writes artifact ``adapter`` (the compressed adapter) and, with
``spec.compression.gguf`` (the default), artifact ``gguf``: the same compressed adapter (int8 ones
dequantised first) as a llama.cpp GGUF LoRA, made by llama.cpp's ``convert_lora_to_gguf.py`` against
the base's config — what a ModelDeployment of a GGUF base loads. Metrics: bytesBefore, bytesAfter,
ratio (before / after), rankBefore/rankAfter (svd), accuracyBefore, accuracyAfter, accuracyDelta
(after − before), n, ggufBytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cogumi_api.training import ModifierTrainingSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.uris import atomic_dir, atomic_file
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.training import adapters
from cogumi_workloads.training.modelio import EVAL_BATCH_SIZE, model_path
from cogumi_workloads.training.scoring import score

OUTPUT = "adapter"
GGUF_OUTPUT = "adapter.gguf"


def weight_bytes(folder: Path) -> int:
    return sum((folder / name).stat().st_size for name in (adapters.WEIGHTS, adapters.INT8_WEIGHTS)
               if (folder / name).is_file())


def run(ctx: StageContext[ModifierTrainingSpec]) -> None:
    spec = ctx.spec
    _, trained = ctx.input("trained-adapter")
    cfg = spec.compression
    with atomic_dir(ctx.output_path(OUTPUT)) as folder:
        shape = adapters.compress(trained, folder, cfg.method, cfg.target_rank)
    compressed = ctx.output_path(OUTPUT)
    before, after = weight_bytes(trained), weight_bytes(compressed)
    suite = get_suite(spec.domain)
    items = suite.split("validation", spec.samples)
    base = model_path(ctx, spec.base_model, "spec.baseModel")
    acc_before, acc_after = score(base, [("base+adapter", trained), ("base+compressed adapter", compressed)], suite,
                                  items, "validation", spec.evaluation, ctx.workdir / "scoring", ctx.log,
                                  EVAL_BATCH_SIZE)
    ctx.metrics.update({f: float(v) for f, v in shape.items()})
    ctx.metrics.update({
        "bytesBefore": float(before), "bytesAfter": float(after), "ratio": round(before / after, 4) if after else 0.0,
        "accuracyBefore": acc_before.accuracy, "accuracyAfter": acc_after.accuracy,
        "accuracyDelta": acc_after.accuracy - acc_before.accuracy, "n": float(acc_after.n),
    })
    ctx.message = (f"{cfg.method}: {before / 1e6:.2f} MB → {after / 1e6:.2f} MB; validation accuracy "
                   f"{acc_before.accuracy:.1%} → {acc_after.accuracy:.1%} (n={acc_after.n})")
    ctx.publish("adapter", OUTPUT)
    if cfg.gguf:
        ctx.metrics["ggufBytes"] = float(export_gguf(ctx, compressed, base))
        ctx.publish("gguf", GGUF_OUTPUT)


def export_gguf(ctx: StageContext[ModifierTrainingSpec], adapter: Path, base: Path) -> int:
    """Write the adapter as a GGUF LoRA to the output ``adapter.gguf``; returns its size."""
    from cogumi_workloads.compress.gguf import convert_lora

    if not base.is_dir():
        raise PermanentError(f"compression.gguf: the base {base.name} is not a Hugging Face folder, and llama.cpp's "
                             "LoRA converter needs one (its config.json); set compression.gguf: false or train on "
                             "an HF base")
    scratch = ctx.workdir / "gguf"
    scratch.mkdir(parents=True, exist_ok=True)
    built = scratch / GGUF_OUTPUT
    convert_lora(adapters.materialise(adapter, scratch / "float"), base, built, "f16", ctx.log)
    with atomic_file(ctx.output_path(GGUF_OUTPUT)) as handle, open(built, "rb") as data:
        shutil.copyfileobj(data, handle, 1 << 20)
    return ctx.output_path(GGUF_OUTPUT).stat().st_size
