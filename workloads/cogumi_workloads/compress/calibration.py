"""Confidence calibration: temperature scaling, Platt scaling, ECE, and the saved parameters.

Answer confidence of a greedy answer a_1..a_n at temperature T:
``conf_T = exp(mean_t log softmax(z_t / T)[a_t])`` (the length-normalised probability of the
answer; z_t are the logits that chose a_t). T is fitted by minimising the binary cross-entropy
of conf_T against correctness over a log-spaced grid; Platt scaling then fits
``p = sigmoid(a · logit(conf_T) + b)`` by Newton's method with Platt's smoothed targets
(N₊+1)/(N₊+2) and 1/(N₋+2), which also behaves when every answer is right or every one wrong.

The router and the server load the JSON artifact with :func:`load` and map a confidence with
:meth:`Calibration.apply` (``conf_T`` from :meth:`Calibration.confidence`, or computed by the caller).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from cogumi_workloads.runtime.errors import PermanentError

FORMAT, VERSION = "cogumi-calibration", 1
GRID = np.exp(np.linspace(math.log(0.1), math.log(10.0), 41))
"""Temperatures tried: 41 log-spaced values from 0.1 to 10 (steps of 12 %)."""
EPS = 1e-6


def token_stats(rows: np.ndarray, chosen: Sequence[int]) -> np.ndarray:
    """[len(GRID)] mean log-probability of the chosen tokens at each grid temperature."""
    import torch

    logits = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
    picked = logits[torch.arange(len(chosen)), torch.tensor(list(chosen))]
    out = [float((picked / t - torch.logsumexp(logits / t, dim=1)).mean()) for t in GRID.tolist()]
    return np.array(out, dtype=np.float64)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    out: np.ndarray = np.log(p) - np.log1p(-p)
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def ece(conf: np.ndarray, correct: np.ndarray, bins: int) -> float:
    """Expected calibration error with ``bins`` equal-width bins over [0, 1]."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += abs(float(correct[members].mean()) - float(conf[members].mean())) * members.sum() / len(conf)
    return float(total)


def bce(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, EPS, 1 - EPS)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def fit_temperature(stats: np.ndarray, correct: np.ndarray) -> float:
    """The grid temperature whose confidences best predict correctness (lowest cross-entropy)."""
    losses = [bce(np.exp(stats[:, k]), correct) for k in range(len(GRID))]
    return float(GRID[int(np.argmin(losses))])


def fit_platt(x: np.ndarray, correct: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """Platt's (a, b) for ``sigmoid(a·x + b)`` by Newton's method with smoothed targets."""
    positives = float(correct.sum())
    negatives = float(len(correct) - positives)
    target = np.where(correct > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    a, b = 0.0, math.log((positives + 1) / (negatives + 1))
    for _ in range(iterations):
        p = _sigmoid(a * x + b)
        grad = np.array([((p - target) * x).sum(), (p - target).sum()])
        w = p * (1 - p) + 1e-12
        hess = np.array([[(w * x * x).sum(), (w * x).sum()], [(w * x).sum(), w.sum()]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, b = a - float(step[0]), b - float(step[1])
        if abs(step).max() < 1e-10:
            break
    return a, b


@dataclass
class Calibration:
    temperature: float
    platt_a: float
    platt_b: float
    ece: dict[str, float] = field(default_factory=dict)
    """ECE on the held-out half: before, temperature (after temperature only), after."""
    accuracy: float = 0.0
    bins: int = 10
    samples: dict[str, int] = field(default_factory=dict)
    model: dict[str, str] = field(default_factory=dict)
    confidence_rule: str = "exp(mean over answer tokens of log softmax(logits / temperature)[token])"
    apply_rule: str = "sigmoid(plattA * logit(conf_T) + plattB)"

    def confidence(self, rows: np.ndarray, chosen: Sequence[int]) -> float:
        """conf_T of an answer from the logits rows that chose its tokens ([n, vocab], at T = 1)."""
        z = np.asarray(rows, dtype=np.float64) / self.temperature
        top = z.max(axis=1)
        lse = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
        return float(np.exp((z[np.arange(len(chosen)), list(chosen)] - lse).mean()))

    def apply(self, conf_t: float) -> float:
        """The calibrated probability that an answer with confidence ``conf_T`` is right."""
        x = float(_logit(np.array([conf_t]))[0])
        return float(_sigmoid(np.array([self.platt_a * x + self.platt_b]))[0])

    def to_json(self) -> str:
        body = {"format": FORMAT, "version": VERSION, **asdict(self)}
        return json.dumps(body, indent=2, sort_keys=True) + "\n"


def fit(stats: np.ndarray, correct: np.ndarray, bins: int) -> Calibration:
    """Fit on the even-indexed examples, report ECE on the odd-indexed (held-out) ones."""
    fit_idx, test_idx = np.arange(0, len(correct), 2), np.arange(1, len(correct), 2)
    one = int(np.argmin(abs(GRID - 1.0)))
    temperature = fit_temperature(stats[fit_idx], correct[fit_idx])
    k = int(np.argmin(abs(GRID - temperature)))
    a, b = fit_platt(_logit(np.exp(stats[fit_idx, k])), correct[fit_idx])
    before = np.exp(stats[test_idx, one])
    tempered = np.exp(stats[test_idx, k])
    after = _sigmoid(a * _logit(tempered) + b)
    return Calibration(
        temperature=temperature, platt_a=a, platt_b=b, bins=bins, accuracy=float(correct.mean()),
        ece={"before": ece(before, correct[test_idx], bins), "temperature": ece(tempered, correct[test_idx], bins),
             "after": ece(after, correct[test_idx], bins)},
        samples={"fit": len(fit_idx), "heldOut": len(test_idx)})


def load(path: Path) -> Calibration:
    """Read a ``calibration`` artifact (the file, or the folder holding calibration.json)."""
    file = path / "calibration.json" if path.is_dir() else path
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PermanentError(f"cannot read calibration parameters from {file}: {exc}") from exc
    if body.get("format") != FORMAT or body.get("version") != VERSION:
        raise PermanentError(f"{file} is not a {FORMAT} v{VERSION} file")
    fields = {k: body[k] for k in Calibration.__dataclass_fields__ if k in body}
    return Calibration(**fields)
