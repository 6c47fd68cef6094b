"""``compressionrun.export``: Hugging Face folder → GGUF at ``export.quantType``, with the token-agreement gate.

Input: artifact ``model`` when present (pruned and/or AWQ-quantized), else ``spec.model.uri``.

How compression carries into the GGUF (measured in docs/compression.md):

- A compressed-tensors input (AWQ W4A16 ``pack-quantized``, or sparse weights stored compressed)
  is first dequantized: transformers/compressed-tensors unpack the 4-bit codes and apply
  ``scale·(q − zero_point)``; AWQ's activation-aware channel scales were already folded into the
  weights by llmcompressor, so the dense fp16 copy carries AWQ's rounding grid. That copy goes
  through llama.cpp's converter (``--outtype f16``; F32/BF16 targets are written directly), then
  ``llama_model_quantize`` re-quantizes it to ``quantType``. Pruned zeros stay zero in the f16
  GGUF; llama.cpp block quantization stores them as ordinary values (no sparse format), so
  pruning shrinks the GGUF only through the zstd ``pack`` stage.
- Any llama.cpp type is accepted (``Q5_K_M`` default). K-quants need rows that are multiples of
  256; llama.cpp falls back to other types for narrower tensors.

Gate metric ``tokenAgreement``: teacher-forced greedy-token agreement of the GGUF (run by
llama-cpp-python) with the uncompressed original (``spec.model``, run by transformers) on
``export.agreementPrompts`` held-out prompts × up to ``export.agreementTokens`` tokens; the exact
definition is in :mod:`cogumi_workloads.compress.scoring`.

Output: artifact ``gguf`` (``model.gguf``). Metrics: ``tokenAgreement``, ``promptsAgreeing``,
``agreementTokens``, ``sizeBytes``, ``unquantizedBytes`` (the 16-bit GGUF), ``sourceBytes``,
``originalBytes``, ``compressionRatio`` (original/GGUF), ``dequantized`` (1 when the input was
compressed-tensors), ``seconds``, ``peakRssBytes``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cogumi_api.compression import CompressionRunSpec
from cogumi_workloads.compress import gguf
from cogumi_workloads.compress.agreement import gguf_agreement, held_out_reference
from cogumi_workloads.compress.models import (
    compression_config,
    load_model,
    load_tokenizer,
    measure,
    model_source,
    original_model,
    require_ml,
    save_dense,
    size_bytes,
)
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.runtime.uris import atomic_file

OUTPUT = "model.gguf"


def dense_folder(src: Path, scratch: Path, log: JsonLogger) -> tuple[Path, bool]:
    """``src`` itself when it is a plain folder, else a dequantized fp16 copy; and whether it was dequantized."""
    import torch

    if compression_config(src) is None:
        return src, False
    dest = scratch / "dequantized"
    log.info("dequantizing compressed-tensors weights to fp16 for the converter", source=str(src))
    model = load_model(src, on="cpu")
    save_dense(model, load_tokenizer(src), dest, torch.float16)
    del model
    return dest, True


def export_folder(src: Path, dest: Path, quant_type: str, scratch: Path, log: JsonLogger) -> dict[str, float]:
    """Write the GGUF of the HF folder ``src`` to ``dest`` (atomically); returns size metrics."""
    scratch.mkdir(parents=True, exist_ok=True)
    dense, dequantized = dense_folder(src, scratch, log)
    built = scratch / "out.gguf"
    unquantized = gguf.export(dense, built, quant_type, scratch, log)
    with atomic_file(dest) as handle, open(built, "rb") as data:
        shutil.copyfileobj(data, handle, 1 << 22)
    built.unlink()
    if dense != src:
        shutil.rmtree(dense, ignore_errors=True)
    return {"sizeBytes": float(dest.stat().st_size), "unquantizedBytes": float(unquantized),
            "sourceBytes": float(size_bytes(src)), "dequantized": float(dequantized)}


def run(ctx: StageContext[CompressionRunSpec]) -> None:
    require_ml(ctx.stage_id, "llama_cpp")
    cfg = ctx.spec.export
    gguf.ftype(cfg.quant_type)  # refuse an unknown type before any work
    what, src = model_source(ctx)
    with measure() as usage:
        ref = held_out_reference(ctx)
        ctx.log.info("exporting", source=what, quantType=cfg.quant_type)
        dest = ctx.output_path(OUTPUT)
        sizes = export_folder(src, dest, cfg.quant_type, ctx.workdir / "export", ctx.log)
        agreement = gguf_agreement(dest, ref)
    original = size_bytes(original_model(ctx))
    ctx.log.info("token agreement", **agreement.metrics(), prompts=agreement.prompts)
    ctx.metrics.update({**agreement.metrics(), **sizes, "originalBytes": float(original),
                        "compressionRatio": original / sizes["sizeBytes"], **usage.metrics()})
    ctx.publish("gguf", OUTPUT)
