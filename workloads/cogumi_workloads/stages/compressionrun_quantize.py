"""``compressionrun.quantize``: AWQ W4A16 (llmcompressor), saved as compressed-tensors.

Input: artifact ``model`` when present (e.g. the pruned model), else ``spec.model.uri``.
``quantize.scheme`` W4A16: 4-bit integer weights, asymmetric (a zero point per group) in groups
of ``quantize.groupSize`` along each row, 16-bit activations; ``lm_head`` and embeddings stay in
16/32 bits. The group size must divide the input width of every decoder Linear (refused before
any work otherwise, naming the layers and the sizes that fit). Calibration:
``quantize.calibrationSamples`` examples of ``quantize.calibration`` (default: the task suites'
train splits). AWQ searches ``quantize.grid`` scaling ratios per mapping (llmcompressor's
``n_grid``). On a machine without an accelerator llmcompressor's intermediates cache must not pin
memory (:func:`cogumi_workloads.compress.llmc.cpu_workaround`); with one, nothing is patched.

``quantize.backend: autoawq`` uses AutoAWQ where it is importable and fails permanently with a
clear message where it is not (it is archived upstream and installs on few platforms).

Zeros of a pruned input stay exactly zero: AWQ scales columns (0·s = 0) and the asymmetric grid
holds 0 exactly (q = zero point). Output: artifact ``model`` (``pack-quantized``, loadable by
transformers). Metrics: ``groupSize``, ``calibrationSamples``, ``sizeBytes``, ``sourceBytes``,
``compressionRatio`` (source/size), ``sparsity.total`` (measured on the dequantized weights),
``seconds``, ``peakRssBytes`` (``peakGpuBytes`` on a GPU).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
from cogumi_workloads.compress.texts import Example, examples
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.uris import atomic_dir

OUTPUT = "model"


def _autoawq(src: Path, out: Path, group_size: int, data: list[Example], ctx: StageContext[CompressionRunSpec]) -> None:
    """AutoAWQ's quantizer (GEMM kernels format). Only where ``awq`` imports."""
    if importlib.util.find_spec("awq") is None:
        raise PermanentError("quantize.backend autoawq needs the autoawq package, which is not installed here "
                             "(it is archived upstream and installs on few platforms); use backend llmcompressor")
    from awq import AutoAWQForCausalLM  # type: ignore[import-not-found]

    from cogumi_workloads.compress.texts import render

    tok = load_tokenizer(src)
    model = AutoAWQForCausalLM.from_pretrained(str(src))
    texts = ["".join(render(tok, item)) for item in data]
    model.quantize(tok, quant_config={"zero_point": True, "q_group_size": group_size, "w_bit": 4,
                                      "version": "GEMM"}, calib_data=texts)
    model.save_quantized(str(out))
    tok.save_pretrained(out)


def run(ctx: StageContext[CompressionRunSpec]) -> None:
    cfg = ctx.spec.quantize
    if cfg.backend == "autoawq" and importlib.util.find_spec("awq") is None:
        raise PermanentError("quantize.backend autoawq needs the autoawq package, which is not installed here "
                             "(it is archived upstream and installs on few platforms); use backend llmcompressor")
    require_ml(ctx.stage_id, "llmcompressor", "compressed_tensors")
    what, src = model_source(ctx)
    with measure() as usage:
        tok = load_tokenizer(src)
        model = load_model(src)
        llmc.check_group_size(model, cfg.group_size)  # before llmcompressor's slow import: refusals come first
        from llmcompressor.modifiers.quantization import QuantizationModifier
        from llmcompressor.modifiers.transform import AWQModifier

        data = examples(cfg.calibration, "train", cfg.calibration_samples, ctx.workdir)
        ctx.log.info("quantizing", source=what, scheme=cfg.scheme, groupSize=cfg.group_size, backend=cfg.backend,
                     calibrationSamples=len(data), device=device())
        with atomic_dir(ctx.output_path(OUTPUT)) as out:
            if cfg.backend == "autoawq":
                del model
                _autoawq(src, out, cfg.group_size, data, ctx)
            else:
                recipe = [AWQModifier(duo_scaling=True, n_grid=cfg.grid),
                          QuantizationModifier(config_groups={"group_0": llmc.w4a16_scheme(cfg.group_size)},
                                               ignore=["lm_head"])]
                model = llmc.oneshot(model, tok, recipe, llmc.calibration_loader(tok, data), ctx.log)
                llmc.save(model, tok, out)
        reloaded = load_model(ctx.output_path(OUTPUT), on="cpu")  # proves transformers loads it
        reached = sparsity(reloaded)
    source_bytes, out_bytes = size_bytes(src), size_bytes(ctx.output_path(OUTPUT))
    ctx.metrics.update({"groupSize": float(cfg.group_size), "calibrationSamples": float(len(data)),
                        "grid": float(cfg.grid),
                        "sourceBytes": float(source_bytes), "sizeBytes": float(out_bytes),
                        "compressionRatio": source_bytes / out_bytes, "sparsity.total": reached["sparsity.total"],
                        **usage.metrics()})
    ctx.publish("model", OUTPUT)
