"""Loading causal LMs for training: device, precision, QLoRA (bitsandbytes NF4) or plain LoRA.

QLoRA (4-bit NF4 with double quantisation, bfloat16 compute) runs only where CUDA is present and
bitsandbytes imports; everywhere else the model is trained with plain LoRA in float32. The
caller records which one ran (metric ``quantized4bit``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogumi_api.common import ModelRef
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError

EVAL_BATCH_SIZE = 16
"""Prompts per generation batch when a stage scores a model (decoding is memory-bound: wider batches pay)."""


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    device: str
    quantized4bit: bool
    note: str
    """One sentence on how it was loaded, for the stage's message."""


def model_path(ctx: StageContext[Any], ref: ModelRef, field: str) -> Path:
    """Local path of the model ``ref`` (``field`` is its spec path, e.g. ``spec.baseModel``).

    A referenced resource's artifact arrives as the verified input named after the field; a
    ``uri`` (file://, pvc://, s3://, builtin://) is fetched.
    """
    if field in ctx.inputs:
        return ctx.inputs[field]
    if ref.uri is None:
        raise PermanentError(f"{field} has no uri and its fromResource {ref.from_resource!r} was not resolved")
    return uris.fetch(ref.uri, ctx.workdir / "model")


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _gguf_kwargs(path: Path) -> tuple[Path, dict[str, Any]]:
    if path.is_file() and path.suffix == ".gguf":
        return path.parent, {"gguf_file": path.name}
    return path, {}


def load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    folder, extra = _gguf_kwargs(path)
    tok = AutoTokenizer.from_pretrained(folder, **extra)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(path: Path, want_4bit: bool = False, for_training: bool = True) -> Loaded:
    """The model at ``path`` (HF folder or .gguf file), on CUDA when present."""
    import torch
    from transformers import AutoModelForCausalLM

    from cogumi_workloads.tasks.evaluate import dense_kwargs

    folder, extra = _gguf_kwargs(path)
    tokenizer = load_tokenizer(path)
    cuda = cuda_available()
    dense = {} if extra else dense_kwargs(folder)  # a compressed base (AWQ, pruned) is trained on its dense weights
    if want_4bit and cuda and not dense and importlib.util.find_spec("bitsandbytes") is not None:
        from transformers import BitsAndBytesConfig

        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                   bnb_4bit_compute_dtype=torch.bfloat16)
        model = AutoModelForCausalLM.from_pretrained(folder, quantization_config=quant, dtype=torch.bfloat16,
                                                     device_map={"": 0}, **extra)
        if for_training:
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True,
                                                    gradient_checkpointing_kwargs={"use_reentrant": False})
        return Loaded(model, tokenizer, "cuda", True, "QLoRA: 4-bit NF4 base (double quantisation, bf16 compute, "
                      "gradient checkpointing) on CUDA")
    if want_4bit and dense:
        note = (f"plain LoRA in {'bf16 on CUDA' if cuda else 'float32 on the CPU'} on the dequantized weights of the "
                "compressed-tensors base (quantized already: NF4 on top would quantize it twice)")
    elif want_4bit and cuda:
        note = "plain LoRA on CUDA in bf16: bitsandbytes is not installed, so no 4-bit base"
    elif want_4bit:
        note = "plain LoRA in float32 on the CPU: QLoRA's 4-bit NF4 needs CUDA"
    else:
        note = "plain LoRA" + (" in bf16 on CUDA" if cuda else " in float32 on the CPU")
    dtype = torch.bfloat16 if cuda else torch.float32
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **extra, **dense)
    device = "cuda" if cuda else "cpu"
    model.to(device)
    return Loaded(model, tokenizer, device, False, note)


def attach_adapter(model: Any, adapter: Path) -> Any:
    """``model`` with the peft adapter at ``adapter`` (inference)."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(adapter), is_trainable=False)


def for_eval(model: Any, tokenizer: Any, name: str, device: str) -> Any:
    """``model`` as the shared evaluation function's :class:`LoadedModel` (left padding for batches)."""
    from cogumi_workloads.tasks.evaluate import LoadedModel

    tokenizer.padding_side = "left"
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, name=name, device=device)


def load_for_eval(path: Path, name: str, adapter: Path | None = None) -> Any:
    """The model at ``path`` (with the peft ``adapter`` attached when given), ready for evaluation."""
    from cogumi_workloads.tasks.evaluate import load_model as load_eval_model

    loaded = load_eval_model(path)
    if adapter is not None:
        loaded.model = attach_adapter(loaded.model, adapter)
        loaded.model.eval()
    loaded.name = name
    return loaded


def device_metrics() -> dict[str, float]:
    """Peak GPU memory of this process in bytes (metric peakGpuMemoryBytes) when CUDA ran; else nothing."""
    import torch

    if not torch.cuda.is_available():
        return {}
    return {"peakGpuMemoryBytes": float(torch.cuda.max_memory_allocated())}
