"""Training the escalation detector: a teacher MLP over embeddings, distilled into the hashed-n-gram student."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from cogumi_workloads.router.dissatisfaction import Example
from cogumi_workloads.router.embedder import Embedder
from cogumi_workloads.router.escalation import DENSE, HASH_DIM, dense_features, featurize

TEACHER_HIDDEN = (256, 64)
STUDENT_C = 4.0
HARD_LABEL_WEIGHT = 0.3
"""Student target on labelled examples: 0.3 × label + 0.7 × teacher probability (teacher only elsewhere)."""


def teacher_features(embedder: Embedder, examples: Sequence[Example]) -> np.ndarray:
    """[emb(message), emb(message) ⊙ emb(previous), cos(message, previous), dense lexical features]."""
    texts = sorted({e.message for e in examples} | {e.previous or "" for e in examples})
    vectors = embedder.encode(texts)
    row = {text: i for i, text in enumerate(texts)}
    messages = vectors[[row[e.message] for e in examples]]
    previous = vectors[[row[e.previous or ""] for e in examples]]
    has_previous = np.array([[1.0 if e.previous else 0.0] for e in examples], dtype=np.float32)
    product = messages * previous * has_previous
    cosine = product.sum(axis=1, keepdims=True)
    lexical = np.array([dense_features(e.message, e.previous) for e in examples], dtype=np.float32)
    return np.hstack([messages, product, cosine, lexical]).astype(np.float32)


def student_matrix(examples: Sequence[Example]) -> sparse.csr_matrix:
    """The student's features: HASH_DIM hashed columns then the dense ones."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for row, example in enumerate(examples):
        indices, value, dense = featurize(example.message, example.previous)
        rows.extend([row] * (len(indices) + len(dense)))
        cols.extend(indices)
        cols.extend(range(HASH_DIM, HASH_DIM + len(dense)))
        vals.extend([value] * len(indices))
        vals.extend(dense)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(examples), HASH_DIM + len(DENSE)),
                             dtype=np.float64)


def fit_student(x: sparse.csr_matrix, targets: np.ndarray, c: float = STUDENT_C) -> tuple[np.ndarray, float]:
    """Logistic regression on soft targets in [0, 1] (each row twice, weighted by p and 1 − p).

    Minimising the weighted log-loss of the duplicated rows is exactly minimising the
    cross-entropy against the soft targets. Returns (weights, bias).
    """
    from sklearn.linear_model import LogisticRegression

    stacked = sparse.vstack([x, x]).tocsr()
    labels = np.concatenate([np.ones(x.shape[0]), np.zeros(x.shape[0])])
    weights = np.concatenate([targets, 1.0 - targets])
    keep = weights > 1e-6
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(stacked[keep], labels[keep], sample_weight=weights[keep])
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def student_scores(x: sparse.csr_matrix, weights: np.ndarray, bias: float) -> np.ndarray:
    z = x @ weights.astype(np.float64) + bias
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
