"""llmcompressor glue: calibration sets, the CPU workaround, the W4A16 scheme, saving."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogumi_workloads.compress.models import decoder_linears
from cogumi_workloads.compress.texts import Example, encode
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger

if TYPE_CHECKING:
    import torch
    from torch.utils.data import DataLoader
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

MAX_SEQ_LENGTH = 512
"""Calibration samples are truncated to this many tokens."""


def _collate(rows: list[list[int]]) -> dict[str, torch.Tensor]:
    import torch

    ids = torch.tensor(rows, dtype=torch.long)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def calibration_loader(tok: PreTrainedTokenizerBase, items: Sequence[Example],
                       max_seq_length: int = MAX_SEQ_LENGTH) -> DataLoader:
    """One rendered example per batch (no padding), in order, truncated to ``max_seq_length`` tokens.

    A plain torch ``DataLoader``: llmcompressor takes it as is, so no ``datasets`` table is built.
    """
    from torch.utils.data import DataLoader

    rows = [ids for ids in (encode(tok, item, max_seq_length)[0] for item in items) if len(ids) >= 2]
    if not rows:
        raise PermanentError("no calibration sample has two tokens or more")
    return DataLoader(rows, batch_size=1, shuffle=False, collate_fn=_collate)


def has_accelerator() -> bool:
    import torch

    accel = getattr(torch, "accelerator", None)
    if accel is not None and accel.is_available():
        return True
    return bool(torch.cuda.is_available())


@contextlib.contextmanager
def cpu_workaround(log: JsonLogger) -> Iterator[None]:
    """Without an accelerator, make llmcompressor's intermediates cache skip ``pin_memory()``.

    Pinning needs an accelerator; on a CPU-only torch it raises "Cannot access accelerator
    device" inside AWQ. Pinned memory only speeds host-to-device copies, so skipping it on a
    CPU changes nothing else. With an accelerator present nothing is patched.
    """
    if has_accelerator():
        yield
        return
    from llmcompressor.pipelines.cache import IntermediatesCache

    original = IntermediatesCache.pin_memory
    log.info("no accelerator: llmcompressor's IntermediatesCache.pin_memory is a no-op for this stage")

    def no_pin(self: Any, batch_index: int, input_names: list[str] | None = None) -> None:
        return None

    IntermediatesCache.pin_memory = no_pin  # type: ignore[method-assign]
    try:
        yield
    finally:
        IntermediatesCache.pin_memory = original  # type: ignore[method-assign]


def oneshot(model: PreTrainedModel, tok: PreTrainedTokenizerBase, recipe: Any, data: DataLoader | None,
            log: JsonLogger) -> PreTrainedModel:
    """Run llmcompressor's ``oneshot`` in place (nothing saved; see :func:`save`)."""
    from llmcompressor import oneshot as llmc_oneshot

    kwargs: dict[str, Any] = {}
    if data is not None:
        kwargs.update(dataset=data, num_calibration_samples=len(data.dataset))  # type: ignore[arg-type]
    with cpu_workaround(log):
        result: PreTrainedModel = llmc_oneshot(model=model, tokenizer=tok, recipe=recipe, **kwargs)
    return result


def save(model: PreTrainedModel, tok: PreTrainedTokenizerBase, dest: Path) -> None:
    """Save compressed-tensors style (quantized weights packed, sparse weights compressed when smaller)."""
    model.save_pretrained(dest, save_compressed=True)
    tok.save_pretrained(dest)


def w4a16_scheme(group_size: int) -> Any:
    """AWQ's weight format: 4-bit integers, asymmetric (zero point) per group of ``group_size``, 16-bit activations."""
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme

    weights = QuantizationArgs(num_bits=4, type="int", symmetric=False, strategy="group", group_size=group_size)
    return QuantizationScheme(targets=["Linear"], weights=weights)


def check_group_size(model: PreTrainedModel, group_size: int) -> None:
    """A clear :class:`PermanentError` unless ``group_size`` divides every quantized layer's input width."""
    bad = sorted({(module.in_features, name.rsplit(".", 1)[-1]) for name, module in decoder_linears(model)
                  if module.in_features % group_size})
    if bad:
        widths = sorted({m.in_features for _, m in decoder_linears(model)})
        fits = [g for g in (16, 32, 64, 128, 256) if all(w % g == 0 for w in widths)]
        shown = ", ".join(f"{layer} ({width})" for width, layer in bad)
        raise PermanentError(
            f"quantize.groupSize {group_size} does not divide the input width of {shown}: every group of "
            f"W4A16 must lie inside one row. Group sizes that fit this model: "
            f"{', '.join(map(str, fits)) or 'none of 16..256'}")
