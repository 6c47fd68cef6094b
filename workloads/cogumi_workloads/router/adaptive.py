"""Learning the escalation threshold from logged interactions (logistic regression).

Interaction log: JSONL, one object per routed query, as the server writes it::

    {"query": "…", "domain": "math", "confidence": 0.83, "user_satisfied": true}

(other fields are ignored). A logistic regression models P(satisfied | confidence); the updated
threshold is the confidence at which the predicted satisfaction reaches ``TARGET_SATISFACTION``:
``t = (logit(target) − b) / w``, clamped to [0.05, 0.99]. A second regression with the same slope
and one intercept offset per domain (domains with at least ``MIN_PER_DOMAIN`` logs of both
outcomes) gives per-domain thresholds. When satisfaction does not rise with confidence (w ≤ 0) the
previous threshold is kept and reported as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cogumi_workloads.records import read_jsonl
from cogumi_workloads.runtime.errors import PermanentError

TARGET_SATISFACTION = 0.9
MIN_LOGS = 20
MIN_PER_DOMAIN = 30
LOW, HIGH = 0.05, 0.99


@dataclass(frozen=True)
class Interaction:
    query: str
    domain: str
    confidence: float
    satisfied: bool


@dataclass
class Learned:
    threshold: float
    slope: float
    intercept: float
    clamped: bool
    kept_previous: bool
    domain_thresholds: dict[str, float] = field(default_factory=dict)
    holdout_log_loss: float | None = None
    baseline_log_loss: float | None = None


def _parse(path: Path, number: int, obj: dict[str, object]) -> Interaction:
    query, domain = obj.get("query"), obj.get("domain")
    confidence, satisfied = obj.get("confidence"), obj.get("user_satisfied")
    if not isinstance(query, str) or not isinstance(domain, str):
        raise PermanentError(f"{path}:{number}: an interaction needs string fields query and domain")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
        raise PermanentError(f"{path}:{number}: confidence must be a number in [0, 1]")
    if not isinstance(satisfied, bool):
        raise PermanentError(f"{path}:{number}: user_satisfied must be true or false")
    return Interaction(query, domain, float(confidence), satisfied)


def read_logs(path: Path, limit: int | None = None) -> list[Interaction]:
    """Interactions of a JSONL file or of every ``*.jsonl`` in a folder (name order); the last ``limit``."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise PermanentError(f"{path} holds no *.jsonl interaction log")
    found = [_parse(file, number, obj) for file in files for number, obj in read_jsonl(file)]
    return found[-limit:] if limit else found


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=10.0, max_iter=1000)
    model.fit(x, y)
    return model.coef_[0], float(model.intercept_[0])


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def learn(interactions: list[Interaction], previous: float | None,
          target: float = TARGET_SATISFACTION) -> Learned:
    """Fit the regressions and derive the thresholds; :class:`PermanentError` when the logs cannot."""
    y = np.array([i.satisfied for i in interactions], dtype=np.float64)
    if len(interactions) < MIN_LOGS or y.min() == y.max():
        raise PermanentError(f"the interaction logs need at least {MIN_LOGS} entries with both satisfied and "
                             f"unsatisfied users; found {len(interactions)} ({int(y.sum())} satisfied)")
    conf = np.array([[i.confidence] for i in interactions])
    holdout = np.arange(len(y)) % 5 == 0
    holdout_loss = baseline_loss = None
    if len(y) >= 50 and 0 < y[~holdout].mean() < 1:
        w, b = _fit(conf[~holdout], y[~holdout])
        holdout_loss = _log_loss(1 / (1 + np.exp(-(conf[holdout, 0] * w[0] + b))), y[holdout])
        baseline_loss = _log_loss(np.full(int(holdout.sum()), y[~holdout].mean()), y[holdout])
    w, b = _fit(conf, y)
    slope = float(w[0])
    if slope <= 0:
        kept = previous if previous is not None else HIGH
        return Learned(kept, slope, b, False, True, {}, holdout_loss, baseline_loss)
    raw = (_logit(target) - b) / slope
    threshold = min(HIGH, max(LOW, raw))
    learned = Learned(threshold, slope, b, threshold != raw, False, {}, holdout_loss, baseline_loss)
    domains = sorted({i.domain for i in interactions})
    eligible = [d for d in domains if _eligible(interactions, d)]
    if eligible:
        onehot = np.array([[1.0 if i.domain == d else 0.0 for d in eligible] for i in interactions])
        wd, bd = _fit(np.hstack([conf, onehot]), y)
        if wd[0] > 0:
            learned.domain_thresholds = {
                d: float(min(HIGH, max(LOW, (_logit(target) - bd - wd[1 + k]) / wd[0])))
                for k, d in enumerate(eligible)}
    return learned


def _eligible(interactions: list[Interaction], domain: str) -> bool:
    outcomes = [i.satisfied for i in interactions if i.domain == domain]
    return len(outcomes) >= MIN_PER_DOMAIN and 0 < sum(outcomes) < len(outcomes)
