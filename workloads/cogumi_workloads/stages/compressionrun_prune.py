"""``compressionrun.prune``: unstructured pruning with llmcompressor (SparseGPT or Wanda), gradually.

Input: artifact ``model`` when present, else ``spec.model.uri`` (a Hugging Face folder).
Calibration: ``prune.calibrationSamples`` examples of ``prune.calibration`` (a DataRef; default:
the task suites' train splits, see :mod:`cogumi_workloads.compress.texts`), rendered through
the chat template and truncated to 512 tokens.

Gradual schedule: ``prune.steps`` one-shot passes with equal increments, pass k reaching
``sparsity * k / steps``; every pass recalibrates on the model the previous one left and keeps
its mask (``preserve_sparsity_mask``), so the masks nest and the last pass lands on the target.
Decoder Linear layers are pruned; embeddings and ``lm_head`` are not.

Output: artifact ``model``, saved compressed-tensors style (sparse weights stored compressed
when that is smaller). Metrics: ``sparsity.target``, ``sparsity.total``, ``sparsity.attn``,
``sparsity.mlp`` (fractions of exact zeros measured on the result), ``steps``,
``calibrationSamples``, ``sizeBytes``, ``sourceBytes``, ``seconds``, ``peakRssBytes``
(``peakGpuBytes`` on a GPU).
"""

from __future__ import annotations

from cogumi_api.compression import CompressionRunSpec
from cogumi_workloads.compress import llmc
from cogumi_workloads.compress.models import (
    device,
    load_model,
    load_tokenizer,
    measure,
    model_source,
    require_ml,
    size_bytes,
    sparsity,
)
from cogumi_workloads.compress.texts import examples
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.uris import atomic_dir

OUTPUT = "model"


def schedule(target: float, steps: int) -> list[float]:
    """The sparsity reached after each pass: equal increments ending exactly on ``target``."""
    return [round(target * k / steps, 6) for k in range(1, steps + 1)]


def modifier(method: str, level: float, keep_mask: bool) -> object:
    from llmcompressor.modifiers.pruning import SparseGPTModifier, WandaPruningModifier

    common = {"sparsity": level, "mask_structure": "0:0", "targets": ["Linear"], "ignore": ["re:.*lm_head"]}
    if method == "wanda":
        return WandaPruningModifier(**common)
    return SparseGPTModifier(**common, preserve_sparsity_mask=keep_mask)


def run(ctx: StageContext[CompressionRunSpec]) -> None:
    require_ml(ctx.stage_id, "llmcompressor")
    cfg = ctx.spec.prune
    what, src = model_source(ctx)
    with measure() as usage:
        tok = load_tokenizer(src)
        model = load_model(src)
        data = examples(cfg.calibration, "train", cfg.calibration_samples, ctx.workdir)
        loader = llmc.calibration_loader(tok, data)
        samples = len(loader.dataset)  # type: ignore[arg-type]
        levels = schedule(cfg.sparsity, cfg.steps)
        ctx.log.info("pruning", source=what, method=cfg.method, schedule=levels, calibrationSamples=samples,
                     device=device())
        for step, level in enumerate(levels, start=1):
            if level <= 0:
                continue
            model = llmc.oneshot(model, tok, modifier(cfg.method, level, keep_mask=step > 1), loader, ctx.log)
            reached = sparsity(model)
            ctx.log.info("pruning step done", step=step, target=level, **reached)
        reached = sparsity(model)
        with atomic_dir(ctx.output_path(OUTPUT)) as out:
            llmc.save(model, tok, out)
    ctx.metrics.update({"sparsity.target": cfg.sparsity, **reached, "steps": float(cfg.steps),
                        "calibrationSamples": float(samples), "sourceBytes": float(size_bytes(src)),
                        "sizeBytes": float(size_bytes(ctx.output_path(OUTPUT))), **usage.metrics()})
    ctx.publish("model", OUTPUT)
