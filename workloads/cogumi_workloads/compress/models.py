"""Model folders for the compression stages: where they come from, loading, saving, measuring."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogumi_api.compression import CompressionRunSpec
from cogumi_workloads.assets.models import require
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.digest import folder_files
from cogumi_workloads.runtime.errors import PermanentError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

ML_MODULES = ("torch", "transformers", "accelerate", "safetensors")
ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")
QUANT_SUFFIXES = ("weight_scale", "weight_zero_point", "weight_g_idx", "weight_global_scale")


def require_ml(stage: str, *extra: str) -> None:
    require(f"stage {stage}", *ML_MODULES, *extra)


def device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu`` (every stage also runs on the CPU)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def original_model(ctx: StageContext[CompressionRunSpec]) -> Path:
    """The uncompressed model of the run (``spec.model.uri``, fetched or pulled)."""
    uri = ctx.spec.model.uri
    if uri is None:
        raise PermanentError(f"stage {ctx.stage_id} needs spec.model.uri (model.fromResource="
                             f"{ctx.spec.model.from_resource!r} was not resolved to a URI)")
    return uris.fetch(uri, ctx.workdir)


def model_source(ctx: StageContext[CompressionRunSpec]) -> tuple[str, Path]:
    """(what, local folder) of the HF model this stage starts from: input ``model``, else spec.model."""
    if "model" in ctx.inputs:
        return "input artifact 'model'", ctx.inputs["model"]
    path = original_model(ctx)
    if ctx.spec.model.format == "gguf" or path.is_file():
        raise PermanentError(f"stage {ctx.stage_id} needs a Hugging Face folder; spec.model is a GGUF file ({path})")
    return f"spec.model.uri {ctx.spec.model.uri}", path


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PermanentError(f"{path} is not a Hugging Face model folder: it has no config.json") from exc
    except json.JSONDecodeError as exc:
        raise PermanentError(f"{path}/config.json is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise PermanentError(f"{path}/config.json is not a JSON object")
    return config


def compression_config(path: Path) -> dict[str, Any] | None:
    """The compressed-tensors ``quantization_config`` of a folder, or None for a plain model."""
    qc = read_config(path).get("quantization_config")
    if isinstance(qc, dict) and qc.get("quant_method") == "compressed-tensors":
        return qc
    if isinstance(qc, dict):
        raise PermanentError(f"{path}: quantization method {qc.get('quant_method')!r} is not supported here; "
                             "the compression stages read plain or compressed-tensors folders")
    return None


def is_weight_quantized(path: Path) -> bool:
    qc = compression_config(path)
    return bool(qc and qc.get("config_groups"))


def load_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(path: Path, *, dtype: torch.dtype | None = None, on: str | None = None) -> PreTrainedModel:
    """A causal LM with dense weights (a compressed-tensors folder is decompressed on load).

    ``dtype`` defaults to the checkpoint's on a GPU and to float32 on a CPU.
    """
    import torch
    from transformers import AutoModelForCausalLM, CompressedTensorsConfig

    where = on or device()
    if dtype is None:  # the checkpoint's precision; float32 on a CPU, where 16-bit matmuls are slow
        stored = getattr(torch, str(read_config(path).get("dtype") or read_config(path).get("torch_dtype")
                                    or "float32"), torch.float32)
        dtype = torch.float32 if where == "cpu" or not isinstance(stored, torch.dtype) else stored
    kwargs: dict[str, Any] = {"dtype": dtype}
    if compression_config(path) is not None:
        kwargs["quantization_config"] = CompressedTensorsConfig(dequantize=True)
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    model.eval()
    return model.to(where)


def dense_state_dict(model: PreTrainedModel) -> dict[str, torch.Tensor]:
    """The weights without quantization parameters (scales and zero points are already applied)."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith(QUANT_SUFFIXES)}


def to_plain(model: PreTrainedModel, dtype: torch.dtype) -> PreTrainedModel:
    """A copy of ``model`` on the CPU in ``dtype`` without quantization config, hooks or parameters."""
    import torch
    from transformers import AutoModelForCausalLM

    config = type(model.config).from_dict({k: v for k, v in model.config.to_dict().items()
                                           if k != "quantization_config"})
    config.dtype = dtype
    with torch.device("meta"):
        plain = AutoModelForCausalLM.from_config(config, dtype=dtype)
    state = {k: v.detach().to("cpu", dtype) for k, v in dense_state_dict(model).items()}
    plain.load_state_dict(state, strict=False, assign=True)
    if plain.config.tie_word_embeddings:
        plain.tie_weights()
    for name, buffer in model.named_buffers():  # non-persistent buffers (rotary frequencies) are not in state
        owner, _, attr = name.rpartition(".")
        module = plain.get_submodule(owner)
        if attr in module._buffers and module._buffers[attr] is not None and module._buffers[attr].is_meta:
            module._buffers[attr] = buffer.detach().to("cpu")
    missing = [n for n, t in [*plain.named_parameters(), *plain.named_buffers()] if t.is_meta]
    if missing:
        raise PermanentError(f"cannot make a dense copy: no weights for {', '.join(missing[:5])}")
    plain.generation_config = model.generation_config
    plain.eval()
    return plain


def save_dense(model: PreTrainedModel, tok: PreTrainedTokenizerBase, dest: Path, dtype: torch.dtype) -> None:
    """Save ``model`` as a plain HF folder in ``dtype``: no ``quantization_config``, no quantization hooks."""
    to_plain(model, dtype).save_pretrained(dest)
    tok.save_pretrained(dest)


def decoder_linears(model: torch.nn.Module) -> Iterator[tuple[str, torch.nn.Linear]]:
    """(name, module) of every Linear inside the decoder blocks (embeddings and lm_head excluded)."""
    import torch

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and ".layers." in f".{name}" and not name.endswith("lm_head"):
            yield name, module


def sparsity(model: torch.nn.Module) -> dict[str, float]:
    """Fraction of exactly-zero weights: ``sparsity.attn``, ``sparsity.mlp`` and ``sparsity.total``."""
    counts = {"attn": [0, 0], "mlp": [0, 0], "total": [0, 0]}
    for name, module in decoder_linears(model):
        weight = module.weight.detach()
        zeros, numel = int((weight == 0).sum()), weight.numel()
        leaf = name.rsplit(".", 1)[-1]
        group = "attn" if leaf in ATTN else "mlp" if leaf in MLP else None
        for key in (group, "total"):
            if key is not None:
                counts[key][0] += zeros
                counts[key][1] += numel
    return {f"sparsity.{k}": z / n for k, (z, n) in counts.items() if n}


def size_bytes(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in folder_files(path))


@dataclass
class Usage:
    """Wall time and peak memory of a stage (filled when the ``measure`` block ends)."""

    seconds: float = 0.0
    peak_rss_bytes: int = 0
    peak_gpu_bytes: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        out = {"seconds": round(self.seconds, 3), "peakRssBytes": float(self.peak_rss_bytes)}
        if self.peak_gpu_bytes:
            out["peakGpuBytes"] = float(self.peak_gpu_bytes)
        return out


@contextmanager
def measure() -> Iterator[Usage]:
    """Peak resident memory of this process and its children (the GGUF converter), and GPU peak."""
    import torch

    usage = Usage()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.monotonic()
    try:
        yield usage
    finally:
        usage.seconds = time.monotonic() - start
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        usage.peak_rss_bytes = max(own, children)
        if torch.cuda.is_available():
            usage.peak_gpu_bytes = int(torch.cuda.max_memory_allocated())
