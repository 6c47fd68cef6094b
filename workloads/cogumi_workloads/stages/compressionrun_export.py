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

from cogumi_api.compression import CompressionRunSpec
from cogumi_workloads.compress import gguf
from cogumi_workloads.compress.agreement import gguf_agreement, held_out_reference
from cogumi_workloads.compress.gguf import export_folder
from cogumi_workloads.compress.models import measure, model_source, original_model, require_ml, size_bytes
from cogumi_workloads.runtime.context import StageContext

OUTPUT = "model.gguf"


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
