"""Choosing the router's confidence threshold on validation data.

A route with confidence ≥ t is *confident* (served by the routed modifier); below t the query is
escalated. For every candidate t (``spec.thresholds`` plus 0.50, 0.51, …, 0.99):
``coverage(t)`` = share of validation queries routed confidently and ``confidentAccuracy(t)`` =
accuracy of those routes.

Objective (documented, deterministic): the threshold with the **highest coverage among those whose
confident accuracy reaches the target** (``TARGET_ACCURACY`` = 0.97, the plan's router target used
as the constraint; it is not a measured result); ties go to the lower threshold. When no candidate
reaches the target, the one with the highest confident accuracy among those that still route at least
``MIN_CONFIDENT_SHARE`` of the queries (ties: higher coverage), and ``targetMet`` is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

TARGET_ACCURACY = 0.97
MIN_CONFIDENT_SHARE = 0.1
GRID = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))


@dataclass(frozen=True)
class Candidate:
    threshold: float
    coverage: float
    confident_accuracy: float | None
    confident: int
    from_spec: bool


@dataclass(frozen=True)
class Choice:
    chosen: Candidate
    target: float
    target_met: bool
    candidates: list[Candidate]

    def wire(self) -> dict[str, Any]:
        return {"objective": "max coverage s.t. confidentAccuracy >= target", "target": self.target,
                "targetMet": self.target_met, "chosen": asdict(self.chosen),
                "candidates": [asdict(c) for c in self.candidates]}


def candidates(spec_thresholds: Sequence[float]) -> list[float]:
    return sorted({round(float(t), 4) for t in spec_thresholds} | set(GRID))


def evaluate(confidence: np.ndarray, correct: np.ndarray, thresholds: Sequence[float],
             spec_thresholds: Sequence[float]) -> list[Candidate]:
    spec_set = {round(float(t), 4) for t in spec_thresholds}
    out: list[Candidate] = []
    for t in thresholds:
        mask = confidence >= t
        count = int(mask.sum())
        accuracy = float(correct[mask].mean()) if count else None
        out.append(Candidate(t, count / max(1, len(confidence)), accuracy, count, t in spec_set))
    return out


def choose(confidence: np.ndarray, correct: np.ndarray, spec_thresholds: Sequence[float],
           target: float = TARGET_ACCURACY) -> Choice:
    """Apply the objective above to validation confidences and correctness."""
    if len(confidence) == 0:
        raise ValueError("no validation examples to choose a threshold on")
    evaluated = evaluate(confidence, correct, candidates(spec_thresholds), spec_thresholds)
    meeting = [c for c in evaluated if c.confident_accuracy is not None and c.confident_accuracy >= target]
    if meeting:
        best = max(meeting, key=lambda c: (c.coverage, -c.threshold))
        return Choice(best, target, True, evaluated)
    usable = [c for c in evaluated if c.confident_accuracy is not None and c.coverage >= MIN_CONFIDENT_SHARE]
    usable = usable or [c for c in evaluated if c.confident_accuracy is not None] or evaluated
    best = max(usable, key=lambda c: (c.confident_accuracy or 0.0, c.coverage, -c.threshold))
    return Choice(best, target, False, evaluated)
