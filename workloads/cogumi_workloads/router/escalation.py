"""The escalation detector's student: logistic regression over hashed n-grams, in plain numpy.

``featurize(message, previous)`` gives sparse hashed features (word 1–2-grams and character
3–5-grams of the message's first ``MAX_CHARS`` characters, crc32 into ``HASH_DIM`` buckets,
L2-normalised) plus a few dense ones (overlap with the previous query, capitals, ``!``/``?``,
length). ``EscalationDetector.score`` is
``sigmoid(b + w·x)``: the probability that the user is dissatisfied. One decision takes well
under a millisecond on one CPU core.

Artifact ``escalation`` (folder, format ``cogumi.escalation/v1``): ``manifest.json`` (features,
threshold, metrics, sha256 of every file), ``student.npz`` (``weights``: HASH_DIM + DENSE floats,
``bias``), ``teacher.safetensors`` + the teacher's config in the manifest (kept to re-distil; the
server never needs it) and ``examples.jsonl`` (the generated data, with split and label).
"""

from __future__ import annotations

import math
import re
import zlib
from itertools import pairwise
from pathlib import Path

import numpy as np

from cogumi_workloads.router.bundle import ArtifactError, read_manifest

FORMAT = "cogumi.escalation/v1"
STUDENT = "student.npz"
TEACHER = "teacher.safetensors"
EXAMPLES = "examples.jsonl"
HASH_DIM = 1 << 17
DENSE = ("first_turn", "overlap_prev", "containment_prev", "capitals", "exclamations", "questions", "length")
MAX_CHARS = 400
"""Only the first characters of a message are featurised: dissatisfaction shows early, and a pasted
page would otherwise cost milliseconds of hashing."""
_WORD = re.compile(r"[a-z0-9']+|[!?]+")
_SPACE = re.compile(r"\s+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def dense_features(message: str, previous: str | None) -> list[float]:
    words = set(_words(message))
    letters = [c for c in message if c.isalpha()]
    if previous:
        before = set(_words(previous))
        overlap = len(words & before) / max(1, len(words | before))
        containment = len(words & before) / max(1, len(before))
    else:
        overlap = containment = 0.0
    return [
        0.0 if previous else 1.0, overlap, containment,
        sum(c.isupper() for c in letters) / max(1, len(letters)),
        min(message.count("!"), 5) / 5, min(message.count("?"), 5) / 5,
        math.log1p(len(message)) / 6,
    ]


def hashed_indices(message: str) -> list[int]:
    """Sorted, unique bucket indices of the message's n-grams."""
    text = _SPACE.sub(" ", message.lower()).strip()[:MAX_CHARS]
    words = _words(text)
    grams = [f"w:{w}" for w in words] + [f"b:{a} {b}" for a, b in pairwise(words)]
    padded = f" {text} "
    for n in (3, 4, 5):
        grams.extend(f"c:{padded[i:i + n]}" for i in range(len(padded) - n + 1))
    return sorted({zlib.crc32(g.encode("utf-8")) % HASH_DIM for g in grams})


def featurize(message: str, previous: str | None) -> tuple[list[int], float, list[float]]:
    """(hashed indices, value of each index, dense features) of one example."""
    indices = hashed_indices(message)
    return indices, 1.0 / math.sqrt(max(1, len(indices))), dense_features(message, previous)


class EscalationDetector:
    """The distilled student; ``score`` is the probability that the user is dissatisfied."""

    def __init__(self, weights: np.ndarray, bias: float, threshold: float = 0.5) -> None:
        if weights.shape != (HASH_DIM + len(DENSE),):
            raise ArtifactError(f"student weights have shape {weights.shape}; expected {(HASH_DIM + len(DENSE),)}")
        self.hashed = weights[:HASH_DIM].astype(np.float64)
        self.dense = weights[HASH_DIM:].astype(np.float64)
        self.bias = float(bias)
        self.threshold = threshold

    def score(self, message: str, previous: str | None = None) -> float:
        indices, value, dense = featurize(message, previous)
        z = self.bias + value * float(self.hashed[indices].sum()) + float(np.dot(self.dense, dense))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def dissatisfied(self, message: str, previous: str | None = None) -> bool:
        return self.score(message, previous) >= self.threshold


def save_student(folder: Path, weights: np.ndarray, bias: float) -> None:
    np.savez(folder / STUDENT, weights=weights.astype(np.float32), bias=np.float32(bias))


def load_escalation(path: str | Path, verify: bool = True) -> EscalationDetector:
    """Load an ``escalation`` folder (or the ``escalation/`` folder inside a router bundle)."""
    folder = Path(path)
    manifest = read_manifest(folder, FORMAT, verify=verify)
    with np.load(folder / STUDENT) as data:
        weights, bias = data["weights"], float(data["bias"])
    return EscalationDetector(weights, bias, float(manifest.get("threshold", 0.5)))
