"""Fast tests of the router's parts that need no embedder: data, generator, student, thresholds, adapt."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from cogumi_workloads.router import adaptive, thresholds
from cogumi_workloads.router.bundle import ArtifactError, read_manifest, write_manifest
from cogumi_workloads.router.data import as_query_text
from cogumi_workloads.router.dissatisfaction import TEMPLATES, generate, is_test_template
from cogumi_workloads.router.escalation import (
    DENSE,
    FORMAT,
    HASH_DIM,
    dense_features,
    featurize,
    load_escalation,
    save_student,
)
from cogumi_workloads.runtime.errors import PermanentError

QUERIES = ["What is 12 times 7?", "Write a haiku about rain", "Compute 5% of 240",
           "If all cats are animals, are all animals cats?", "Write a function that sorts a list"]


def test_query_text_drops_answer_format_paragraphs() -> None:
    prompt = "Calculate 3 + 4.\n\nEnd your reply with a final line of the form 'Answer: <x>'."
    assert as_query_text(prompt) == "Calculate 3 + 4."
    assert as_query_text("Which is right?\n\nA. x\nB. y\n\nReply with the letter.") == "Which is right?\n\nA. x\nB. y"
    assert as_query_text("Reply with yes or no.") == "Reply with yes or no."
    tools = "You can call these tools:\n- get_weather: ...\n\nRequest: Convert 5 EUR to USD.\n\nReply with JSON."
    assert as_query_text(tools) == "Convert 5 EUR to USD."


def test_generator_is_balanced_deterministic_and_holds_templates_out() -> None:
    train = generate(400, QUERIES, seed=3, split="train")
    test = generate(200, QUERIES, seed=3, split="test")
    assert generate(400, QUERIES, seed=3, split="train") == train
    assert sum(e.label for e in train) == 200 and sum(e.label for e in test) == 100
    assert {e.template for e in train}.isdisjoint({e.template for e in test})
    for example in train + test:
        category, index = example.template.split(":")
        assert TEMPLATES[category][0] == example.label
        assert is_test_template(int(index)) == (example in test)
        if category == "repeat":
            assert example.previous is not None
    assert {e.category for e in test} == set(TEMPLATES)


def test_student_features_and_detector_round_trip(tmp_path: Path) -> None:
    indices, value, dense = featurize("That's WRONG!!", "What is 12 times 7?")
    assert indices == sorted(set(indices)) and all(0 <= i < HASH_DIM for i in indices)
    assert math.isclose(value, 1 / math.sqrt(len(indices))) and len(dense) == len(DENSE)
    repeated = dense_features("What is 12 times 7?", "What is 12 times 7?")
    assert repeated[1] == 1.0 and repeated[0] == 0.0
    assert dense_features("hello", None)[0] == 1.0
    weights = np.zeros(HASH_DIM + len(DENSE), dtype=np.float32)
    weights[HASH_DIM + 1] = 8.0  # overlap with the previous query → dissatisfied
    save_student(tmp_path, weights, -4.0)
    write_manifest(tmp_path, {"format": FORMAT, "threshold": 0.5})
    detector = load_escalation(tmp_path)
    assert detector.dissatisfied("What is 12 times 7?", "What is 12 times 7?")
    assert not detector.dissatisfied("thanks!", "What is 12 times 7?")
    assert 0.0 < detector.score("thanks!") < 0.05


def test_manifest_refuses_altered_missing_and_extra_files(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"abc")
    write_manifest(tmp_path, {"format": "x/v1"})
    assert read_manifest(tmp_path, "x/v1")["files"]["a.bin"]["bytes"] == 3
    with pytest.raises(ArtifactError, match="expected 'y/v1'"):
        read_manifest(tmp_path, "y/v1")
    (tmp_path / "a.bin").write_bytes(b"abd")
    with pytest.raises(ArtifactError, match=r"altered \['a.bin'\]"):
        read_manifest(tmp_path, "x/v1")
    (tmp_path / "a.bin").unlink()
    (tmp_path / "b.bin").write_bytes(b"")
    with pytest.raises(ArtifactError, match=r"missing \['a.bin'\], unexpected \['b.bin'\]"):
        read_manifest(tmp_path, "x/v1")


def test_threshold_objective_prefers_coverage_at_target_accuracy() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.4, 1.0, 2000)
    correct = rng.uniform(size=2000) < confidence  # calibrated: accuracy rises with confidence
    choice = thresholds.choose(confidence, correct, [0.75, 0.8, 0.85], target=0.9)
    assert choice.target_met
    chosen = choice.chosen
    assert chosen.confident_accuracy is not None and chosen.confident_accuracy >= 0.9
    better = [c for c in choice.candidates if c.threshold < chosen.threshold]
    assert all(c.confident_accuracy is None or c.confident_accuracy < 0.9 for c in better)
    assert {0.75, 0.8, 0.85} <= {c.threshold for c in choice.candidates if c.from_spec}
    assert len(choice.candidates) == 50  # the spec's values lie on the grid
    hopeless = thresholds.choose(confidence, np.zeros(2000, dtype=bool), [0.8], target=0.9)
    assert not hopeless.target_met and hopeless.chosen.coverage >= thresholds.MIN_CONFIDENT_SHARE


def _logs(n: int, crossing: float, seed: int = 0, domains: tuple[str, ...] = ("math", "code")) -> list[dict]:
    """Satisfaction with P = sigmoid(12 (c − crossing) + logit(0.9)): 90 % satisfied at ``crossing``."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        c = rng.uniform(0.3, 1.0)
        p = 1 / (1 + math.exp(-(12 * (c - crossing) + math.log(9))))
        rows.append({"query": f"q{i}", "domain": domains[i % len(domains)], "confidence": c,
                     "user_satisfied": rng.random() < p, "session": "s"})
    return rows


def test_adaptive_threshold_recovers_the_crossing_point(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _logs(4000, 0.7)))
    interactions = adaptive.read_logs(path)
    learned = adaptive.learn(interactions, previous=0.8)
    assert abs(learned.threshold - 0.7) < 0.05 and learned.slope > 0 and not learned.kept_previous
    assert set(learned.domain_thresholds) == {"math", "code"}
    assert all(abs(t - 0.7) < 0.07 for t in learned.domain_thresholds.values())
    assert learned.holdout_log_loss is not None and learned.baseline_log_loss is not None
    assert learned.holdout_log_loss < learned.baseline_log_loss
    assert len(adaptive.read_logs(path, limit=10)) == 10


def test_adaptive_refuses_unusable_logs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"query": "q", "domain": "math", "confidence": 2, "user_satisfied": True}) + "\n")
    with pytest.raises(PermanentError, match="confidence must be a number"):
        adaptive.read_logs(bad)
    few = [adaptive.Interaction("q", "math", 0.9, True)] * 30
    with pytest.raises(PermanentError, match="both satisfied and unsatisfied"):
        adaptive.learn(few, previous=0.8)
    inverted = [adaptive.Interaction("q", "math", c / 100, c < 70) for c in range(40, 100)]
    learned = adaptive.learn(inverted, previous=0.8)
    assert learned.kept_previous and learned.threshold == 0.8 and learned.slope < 0
