"""``compressionrun.recover``: LoRA on the examples the compressed model finds hardest, merged back.

Input: artifact ``model`` (the pruned and/or quantized model) when present, else ``spec.model.uri``.
Data: ``recover.data`` (default: the task suites' train splits, see
:mod:`cogumi_workloads.compress.texts`). A pool of ``5 × recover.hardestExamples`` examples
is drawn; every fifth one is held out (at most 64) to measure the recovery, the others are
scored by the compressed model (mean cross-entropy of the answer tokens, all tokens for plain
text) and the ``hardestExamples`` with the highest loss are the training set.

Training: LoRA of rank ``recover.rank`` (alpha 2·rank, no dropout) on every decoder Linear,
``recover.steps`` AdamW steps of batches of 4 at ``recover.learningRate``, seed 0. The adapter is
merged into the weights; weights that were exactly zero before (pruning) are zeroed again, since
a merged low-rank delta is dense. When the input was W4A16 the merged model is quantized again
with the same scheme (round-to-nearest, data-free: the AWQ scales are already in the weights),
so the output keeps its format and size; otherwise it is saved dense, compressed-tensors style.

Output: artifact ``model``; and, when the run exported before (an input ``gguf``), artifact
``gguf`` exported again from the recovered model with ``export.quantType`` together with its
``tokenAgreement``. Metrics: ``lossOriginal`` (the uncompressed model, when the input came from an
earlier stage), ``lossBefore``, ``lossAfterMerge``, ``lossAfter`` (the published model), all on
the held-out examples; ``recovery`` = (lossBefore − lossAfter) / (lossBefore − lossOriginal), the
fraction of the compression loss gap recovered; ``hardestLossBefore``/``hardestLossAfter`` on
the training set; with ``recover.teacher``, the enhanced hardest examples
(:mod:`cogumi_workloads.compress.enhance`): ``teacherAsked``, ``teacherAccepted``, ``teacherCalls``,
``teacherErrors``, ``teacherSpend``, ``teacherTokens``; ``examples``, ``poolSize``, ``evalExamples``, ``trainSteps``,
``sparsity.total``, ``sizeBytes``, ``seconds``, ``peakRssBytes``.
"""

from __future__ import annotations

from pathlib import Path

from cogumi_api.compression import CompressionRunSpec
from cogumi_workloads.compress import llmc, lora
from cogumi_workloads.compress.agreement import gguf_agreement, held_out_reference
from cogumi_workloads.compress.enhance import enhance
from cogumi_workloads.compress.gguf import export_folder
from cogumi_workloads.compress.models import (
    compression_config,
    device,
    load_model,
    load_tokenizer,
    measure,
    model_source,
    original_model,
    require_ml,
    size_bytes,
    sparsity,
    to_plain,
)
from cogumi_workloads.compress.texts import examples
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.uris import atomic_dir
from cogumi_workloads.stages.compressionrun_export import OUTPUT as GGUF_OUTPUT
from cogumi_workloads.training.teachers import resolve_url

OUTPUT = "model"
MAX_EVAL = 64


def group_size(src: Path) -> int | None:
    """The W4A16 group size of a compressed-tensors input, None when it is not weight-quantized."""
    qc = compression_config(src) or {}
    for group in (qc.get("config_groups") or {}).values():
        weights = group.get("weights") or {}
        if weights.get("num_bits") == 4 and weights.get("group_size"):
            return int(weights["group_size"])
    return None


def save(model: object, tok: object, src: Path, out: Path, ctx: StageContext[CompressionRunSpec]) -> None:
    from llmcompressor.modifiers.quantization import QuantizationModifier
    from llmcompressor.transformers.compression.compressed_tensors_utils import modify_save_pretrained

    size = group_size(src)
    if size is not None:
        ctx.log.info("quantizing the merged model again", scheme="W4A16", groupSize=size)
        recipe = QuantizationModifier(config_groups={"group_0": llmc.w4a16_scheme(size)}, ignore=["lm_head"])
        model = llmc.oneshot(model, tok, recipe, None, ctx.log)  # type: ignore[arg-type]
    else:
        modify_save_pretrained(model)
    llmc.save(model, tok, out)  # type: ignore[arg-type]


def run(ctx: StageContext[CompressionRunSpec]) -> None:
    import torch

    require_ml(ctx.stage_id, "peft", "llmcompressor")
    cfg = ctx.spec.recover
    what, src = model_source(ctx)
    with measure() as usage:
        tok = load_tokenizer(src)
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        drawn = examples(cfg.data, "train", cfg.hardest_examples * 5, ctx.workdir)
        pool = lora.encode_all(tok, drawn)
        held = pool[::5][:MAX_EVAL]
        candidates = [row for i, row in enumerate(pool) if i % 5 or i // 5 >= MAX_EVAL]
        if not held or not candidates:
            raise PermanentError(f"recover needs at least 2 usable examples; {len(pool)} rendered to target tokens")
        metrics: dict[str, float] = {}
        if "model" in ctx.inputs:
            reference = load_model(original_model(ctx))
            metrics["lossOriginal"] = lora.mean(lora.losses(reference, held, pad, ctx.log, "loss (original)"))
            del reference
        model = to_plain(load_model(src), torch.float32).to(device())
        masks = lora.sparsity_masks(model)
        metrics["lossBefore"] = lora.mean(lora.losses(model, held, pad, ctx.log, "loss (compressed, held out)"))
        scores = lora.losses(model, candidates, pad, ctx.log, "loss (compressed, pool)")
        train = lora.hardest(candidates, scores, cfg.hardest_examples)
        ctx.log.info("hardest examples chosen", source=what, pool=len(candidates), chosen=len(train),
                     lossChosen=lora.mean(sorted(scores, reverse=True)[:len(train)]), lossPool=lora.mean(scores))
        metrics["hardestLossBefore"] = lora.mean(sorted(scores, reverse=True)[:len(train)])
        if cfg.teacher is not None:
            url = resolve_url(cfg.teacher, "spec.recover.teacher", ctx.invocation.endpoints)
            better, taught = enhance([drawn[row.source] for row in train], cfg.teacher, url, ctx.log)
            train = lora.encode_all(tok, better)
            metrics.update(taught)  # the hardest examples' loss, before tuning, on what is trained on
            metrics["hardestLossBefore"] = lora.mean(lora.losses(model, train, pad, ctx.log, "loss (enhanced)"))
        model, _ = lora.train_lora(model, train, rank=cfg.rank, steps=cfg.steps, lr=cfg.learning_rate, pad=pad,
                                   log=ctx.log)
        lora.reapply_masks(model, masks)
        metrics["lossAfterMerge"] = lora.mean(lora.losses(model, held, pad, ctx.log, "loss (merged, held out)"))
        with atomic_dir(ctx.output_path(OUTPUT)) as out:
            save(model, tok, src, out, ctx)
        del model
        published = load_model(ctx.output_path(OUTPUT))
        metrics["lossAfter"] = lora.mean(lora.losses(published, held, pad, ctx.log, "loss (published, held out)"))
        metrics["hardestLossAfter"] = lora.mean(lora.losses(published, train, pad, ctx.log, "loss (hardest)"))
        metrics.update(sparsity(published))
        del published
        if "gguf" in ctx.inputs:
            ref = held_out_reference(ctx)
            dest = ctx.output_path(GGUF_OUTPUT)
            sizes = export_folder(ctx.output_path(OUTPUT), dest, ctx.spec.export.quant_type,
                                  ctx.workdir / "export", ctx.log)
            metrics.update({**gguf_agreement(dest, ref).metrics(), "ggufBytes": sizes["sizeBytes"]})
    gap = metrics.get("lossOriginal")
    if gap is not None and metrics["lossBefore"] - gap > 1e-6:
        metrics["recovery"] = (metrics["lossBefore"] - metrics["lossAfter"]) / (metrics["lossBefore"] - gap)
    ctx.metrics.update({**metrics, "examples": float(len(train)), "poolSize": float(len(candidates)),
                        "evalExamples": float(len(held)), "trainSteps": float(cfg.steps),
                        "sizeBytes": float(size_bytes(ctx.output_path(OUTPUT))), **usage.metrics()})
    ctx.publish("model", OUTPUT)
    if "gguf" in ctx.inputs:
        ctx.publish("gguf", GGUF_OUTPUT)
