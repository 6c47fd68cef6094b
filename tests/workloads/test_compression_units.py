"""The compression stages' building blocks, without running a stage: schedule, data, calibration math."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cogumi_api.common import DataRef
from cogumi_workloads.compress import calibration
from cogumi_workloads.compress.texts import Example, examples, same_answer
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.stages.compressionrun_prune import schedule

from .compress_kit import needs_llama_cpp, needs_ml


def test_gradual_schedule_reaches_the_target_in_equal_steps():
    assert schedule(0.65, 4) == [0.1625, 0.325, 0.4875, 0.65]
    assert schedule(0.5, 1) == [0.5]


def test_examples_from_jsonl_rows_and_from_a_dataset_folder(tmp_path: Path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"prompt": "2+2?", "answer": "4"}\n\n{"text": "plain words"}\n{"prompt": "3+3?", "answer": "6"}\n')
    got = examples(DataRef(uri=rows.as_uri()), "train", 10, tmp_path)
    assert [(e.prompt, e.answer, e.chat) for e in got] == [("2+2?", "4", True), ("plain words", None, False),
                                                          ("3+3?", "6", True)]
    assert len(examples(DataRef(uri=rows.as_uri(), limit=1), "train", 10, tmp_path)) == 1
    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"prompt": "t", "answer": "1"}\n')
    (folder / "validation.jsonl").write_text('{"prompt": "v", "answer": "2"}\n')
    assert examples(DataRef(uri=folder.as_uri()), "validation", 5, tmp_path)[0].prompt == "v"
    assert examples(DataRef(uri=folder.as_uri()), "test", 5, tmp_path)[0].prompt == "t"  # no test split: train
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "?"}\n')
    with pytest.raises(PermanentError, match="needs a string 'prompt'"):
        examples(DataRef(uri=bad.as_uri()), "train", 5, tmp_path)
    with pytest.raises(PermanentError, match="resolves only under the operator"):
        examples(DataRef(dataset="mine"), "train", 5, tmp_path)


def test_answers_match_on_the_first_line_or_as_numbers():
    assert same_answer("Paris\nbecause...", "paris")
    assert same_answer("The total is 1,250.50.\nAnswer: 1250.5", "1250.50")
    assert not same_answer("London", "Paris")
    assert Example("2+2?", "4").correct("4")


def test_ece_is_zero_when_confidence_matches_frequency_and_large_when_overconfident():
    conf = np.array([0.25] * 8 + [0.75] * 8)
    correct = np.array([1, 0, 0, 0] * 2 + [1, 1, 1, 0] * 2, dtype=float)
    assert calibration.ece(conf, correct, 10) == pytest.approx(0.0)
    assert calibration.ece(np.full(10, 0.95), np.zeros(10), 10) == pytest.approx(0.95)


def _answers(true_t: float, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-token answers whose chance of being right is softmax(z / true_t) of the chosen token."""
    rng = np.random.default_rng(seed)
    stats, correct = [], []
    for _ in range(n):
        z = rng.normal(0, 3, size=(1, 6)).astype(np.float32)
        chosen = int(z.argmax())
        p_true = float(np.exp(z[0, chosen] / true_t) / np.exp(z[0] / true_t).sum())
        stats.append(calibration.token_stats(z, [chosen]))
        correct.append(float(rng.random() < p_true))
    return np.stack(stats), np.array(correct)


@needs_ml
def test_temperature_scaling_recovers_the_temperature_that_generated_the_answers():
    stats, correct = _answers(true_t=2.0, n=3000)
    fitted = calibration.fit_temperature(stats, correct)
    assert 1.6 < fitted < 2.5
    result = calibration.fit(stats, correct, bins=10)
    assert result.ece["temperature"] < result.ece["before"] / 2
    assert result.ece["after"] < 0.05


def test_platt_handles_one_class_with_smoothed_targets():
    x = np.linspace(-3, 3, 40)
    a, b = calibration.fit_platt(x, np.zeros(40))
    probabilities = 1 / (1 + np.exp(-(a * x + b)))
    assert np.allclose(probabilities, 1 / 42, atol=1e-3)  # Platt's target for negatives: 1/(N- + 2)
    a, b = calibration.fit_platt(x, (x > 0).astype(float))
    assert a > 0


def test_calibration_parameters_round_trip_and_apply_monotonically(tmp_path: Path):
    cal = calibration.Calibration(temperature=1.5, platt_a=2.0, platt_b=-1.0, ece={"before": 0.2, "after": 0.01})
    path = tmp_path / "calibration.json"
    path.write_text(cal.to_json())
    body = json.loads(path.read_text())
    assert body["format"] == "cogumi-calibration" and body["temperature"] == 1.5
    loaded = calibration.load(tmp_path)
    assert loaded == cal
    assert loaded.apply(0.2) < loaded.apply(0.5) < loaded.apply(0.9)
    assert loaded.apply(0.5) == pytest.approx(1 / (1 + math.exp(1.0)))
    rows = np.array([[2.0, 0.0, 0.0]])
    assert loaded.confidence(rows, [0]) == pytest.approx(math.exp(2 / 1.5) / (math.exp(2 / 1.5) + 2))
    (tmp_path / "other.json").write_text('{"format": "x"}')
    with pytest.raises(PermanentError, match="not a cogumi-calibration"):
        calibration.load(tmp_path / "other.json")


@needs_llama_cpp
def test_llama_cpp_types_map_and_unknown_types_are_refused():
    import llama_cpp

    from cogumi_workloads.compress import gguf

    assert gguf.ftype("Q5_K_M") == llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M
    assert gguf.ftype("F32") == llama_cpp.LLAMA_FTYPE_ALL_F32
    with pytest.raises(PermanentError, match=r"not a llama\.cpp type.*Q4_K_M"):
        gguf.ftype("Q9_Z")
