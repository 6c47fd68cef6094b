"""Backends that generate text: GGUF (llama-cpp-python) and Hugging Face folders (transformers + peft)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from cogumi_workloads.serve.backends.base import Backend


def load_backend(fmt: Literal["hf", "gguf"], model: Path, adapters: Mapping[str, Path],
                 threads: int | None = None, n_ctx: int = 4096) -> Backend:
    """Load the base model and every adapter; heavy libraries are imported only here."""
    if fmt == "gguf":
        from cogumi_workloads.serve.backends.gguf import GGUFBackend

        return GGUFBackend(model, adapters, threads=threads, n_ctx=n_ctx)
    from cogumi_workloads.serve.backends.hf import HFBackend

    return HFBackend(model, adapters, threads=threads)
