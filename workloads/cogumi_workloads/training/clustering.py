"""KMeans over failure embeddings, k by silhouette, and cluster labels from characteristic terms.

``k`` is the spec's when given; otherwise every k in ``kMin..kMax`` (capped at n-1, where the
silhouette is defined) is fitted and the one with the highest silhouette (cosine, on the
L2-normalised embeddings) wins, ties to the smaller k. Term labels are class-based TF-IDF: each
cluster's texts form one document, and a cluster is labelled by its terms with the highest TF-IDF
against the other clusters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

TERMS_PER_LABEL = 4


@dataclass
class Clustering:
    k: int
    labels: list[int]
    silhouette: float | None
    """None when undefined (fewer than 3 points, or one cluster)."""
    scores: dict[int, float] = field(default_factory=dict)
    """Silhouette of every k tried."""


def _kmeans(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)


def _silhouette(x: np.ndarray, labels: np.ndarray) -> float | None:
    from sklearn.metrics import silhouette_score

    if len(set(labels.tolist())) < 2 or len(set(labels.tolist())) >= len(x):
        return None
    return float(silhouette_score(x, labels, metric="cosine"))


def cluster(x: np.ndarray, k: int | None, k_min: int, k_max: int, seed: int = 0) -> Clustering:
    """Cluster the rows of ``x``."""
    n = len(x)
    if n == 0:
        return Clustering(0, [], None)
    if n < 3:
        return Clustering(1, [0] * n, None)
    if k is not None:
        k = min(k, n - 1)
        labels = _kmeans(x, k, seed)
        return Clustering(k, labels.tolist(), _silhouette(x, labels))
    hi = min(k_max, n - 1)
    lo = min(k_min, hi)
    best: Clustering | None = None
    scores: dict[int, float] = {}
    for candidate in range(lo, hi + 1):
        labels = _kmeans(x, candidate, seed)
        score = _silhouette(x, labels)
        if score is None:
            continue
        scores[candidate] = round(score, 5)
        if best is None or best.silhouette is None or score > best.silhouette + 1e-9:
            best = Clustering(candidate, labels.tolist(), score)
    if best is None:
        return Clustering(1, [0] * n, None)
    best.scores = scores
    return best


def term_labels(texts: Sequence[str], labels: Sequence[int], k: int, terms: int = TERMS_PER_LABEL) -> list[str]:
    """One label per cluster: its most characteristic terms, joined by ', '."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [" ".join(t for t, c in zip(texts, labels, strict=True) if c == cluster_id) for cluster_id in range(k)]
    if not any(d.strip() for d in docs):
        return [f"cluster {i}" for i in range(k)]
    vectorizer = TfidfVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z_]+\b",
                                 sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(docs).toarray()
    except ValueError:  # nothing but stop words or numbers
        return [f"cluster {i}" for i in range(k)]
    vocab = np.array(vectorizer.get_feature_names_out())
    out = []
    for i in range(k):
        row = matrix[i]
        top = [vocab[j] for j in np.argsort(-row, kind="stable")[:terms] if row[j] > 0]
        out.append(", ".join(top) if top else f"cluster {i}")
    return out
