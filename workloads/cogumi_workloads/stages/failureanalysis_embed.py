"""``failureanalysis.embed``: a sentence embedding of every failure's prompt.

Embedder: ``spec.embedder`` (a sentence-transformers folder) or the builtin all-MiniLM-L6-v2
(``builtin://minilm-l6-v2``); rows are L2-normalised. Reads artifact ``evaluation``; writes
``embeddings`` (``embeddings.npy`` in failure order, ``ids.json``). Metrics: failureCount, dim.
"""

from __future__ import annotations

import numpy as np

from cogumi_api.training import FailureAnalysisSpec
from cogumi_workloads.router.embedder import Embedder
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.training.files import read_rows, write_json
from cogumi_workloads.training.modelio import model_path

OUTPUT = "embeddings"


def load_embedder(ctx: StageContext[FailureAnalysisSpec]) -> Embedder:
    ref = ctx.spec.embedder
    if ref is None:
        return Embedder.load(None, ctx.workdir / "embedder")
    return Embedder(ref.uri or ref.from_resource or "embedder", model_path(ctx, ref, "spec.embedder"))


def run(ctx: StageContext[FailureAnalysisSpec]) -> None:
    _, evaluation = ctx.input("evaluation")
    failures = read_rows(evaluation / "failures.jsonl")
    embedder = load_embedder(ctx)
    vectors = embedder.encode([f["prompt"] for f in failures])
    folder = ctx.output_path(OUTPUT)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "embeddings.npy", "wb") as handle:
        np.save(handle, vectors)
    write_json(folder / "ids.json", [f["id"] for f in failures])
    ctx.metrics.update({"failureCount": float(len(failures)), "dim": float(embedder.dim)})
    ctx.message = f"embedded {len(failures)} failures with {embedder.uri}"
    ctx.publish("embeddings", OUTPUT)
