"""``failureanalysis.cluster``: KMeans over the failure embeddings.

``spec.clusters.k`` when set, else the k in ``kMin..kMax`` with the best silhouette (see
:mod:`cogumi_workloads.training.clustering`). Reads ``embeddings``; writes ``clusters``
(``clusters.json``: k, silhouette, the silhouette of every k tried, one cluster id per failure).
Metrics: clusters, silhouette (-1 when undefined: fewer than 3 failures or a single cluster),
failureCount, and ``silhouette.k<k>`` for every k tried.
"""

from __future__ import annotations

import numpy as np

from cogumi_api.training import FailureAnalysisSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.training.clustering import cluster
from cogumi_workloads.training.files import read_json, write_json

OUTPUT = "clusters"


def run(ctx: StageContext[FailureAnalysisSpec]) -> None:
    _, embeddings = ctx.input("embeddings")
    vectors = np.load(embeddings / "embeddings.npy")
    ids = read_json(embeddings / "ids.json")
    cfg = ctx.spec.clusters
    result = cluster(vectors, cfg.k, cfg.k_min, cfg.k_max, seed=0)
    folder = ctx.output_path(OUTPUT)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "clusters.json", {"k": result.k, "silhouette": result.silhouette, "scores": result.scores,
                                          "ids": ids, "labels": result.labels})
    ctx.metrics.update({"clusters": float(result.k), "failureCount": float(len(ids)),
                        "silhouette": round(result.silhouette, 5) if result.silhouette is not None else -1.0})
    ctx.metrics.update({f"silhouette.k{k}": v for k, v in result.scores.items()})
    how = f"k={cfg.k} from the spec" if cfg.k is not None else f"k chosen by silhouette in {cfg.k_min}..{cfg.k_max}"
    ctx.message = f"{result.k} clusters of {len(ids)} failures ({how})"
    ctx.publish("clusters", OUTPUT)
