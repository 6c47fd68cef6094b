"""The Evaluation stages on the tiny random Llama (its answers are noise, so these check thresholds, verdicts,
metrics and paths, not quality): in-process through the real runner, plus the refusals that come before work."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogumi_workloads.tasks.registry import get_suite

from .conftest import RunEval


def test_suites_pass_or_fail_against_min_accuracy_or_the_baseline(run_eval: RunEval, tiny_llama: str) -> None:
    ran = run_eval("suites", {
        "model": {"uri": tiny_llama}, "baseline": {"uri": tiny_llama}, "tasks": [
            {"name": "math", "suite": "math", "limit": 3, "maxNewTokens": 8, "minAccuracy": 0.0},
            {"name": "creative", "suite": "creative", "limit": 2, "maxNewTokens": 8},
            {"name": "finance-hard", "suite": "finance", "limit": 2, "maxNewTokens": 8, "minAccuracy": 1.0}]})
    assert ran.code == 0 and ran.report["outcome"] == "Succeeded", ran.logs[-3000:]
    m = ran.metrics
    assert (m["math.passed"], m["math.threshold"], m["math.n"]) == (1.0, 0.0, 3.0)
    assert m["math.ciLow"] <= m["math.accuracy"] <= m["math.ciHigh"]
    # no minAccuracy: the threshold is the baseline's accuracy on the same items (the same model here: a tie passes)
    assert m["creative.threshold"] == m["creative.baseline"] == m["creative.accuracy"] and m["creative.passed"] == 1
    # minAccuracy 1.0 on noise: FAIL, reported as a metric (the gate suites.finance-hard.passed == 1 stops the run)
    assert m["finance-hard.passed"] == 0.0 and m["finance-hard.threshold"] == 1.0 and m["finance-hard.n"] == 2
    assert (m["tasks"], m["passedTasks"]) == (3.0, 2.0)
    assert "2/3 tasks passed" in ran.report["message"] and "finance-hard 0.0% < 100.0% (minAccuracy)" in \
        ran.report["message"]
    report = ran.artifact("report")
    assert [t["thresholdFrom"] for t in report["tasks"]] == ["minAccuracy", "baseline", "minAccuracy"]
    ids = [item["id"] for item in report["results"]["creative"]["items"]]
    assert ids == [i.id for i in get_suite("creative").split("test", 2)]
    assert ids == [item["id"] for item in report["baselineResults"]["creative"]["items"]]


def test_speed_measures_tokens_per_second_through_transformers(run_eval: RunEval, tiny_llama: str) -> None:
    ran = run_eval("speed", {"model": {"uri": tiny_llama}, "tasks": [{"name": "m", "suite": "math", "minAccuracy": 0}],
                             "speed": {"maxNewTokens": 8, "minTokensPerSecond": 0.001}})
    assert ran.code == 0, ran.logs[-3000:]
    m = ran.metrics
    assert m["requests"] == 5 and 0 < m["completionTokens"] <= 5 * 8 and m["seconds"] > 0
    assert m["tokensPerSecond"] == pytest.approx(m["completionTokens"] / m["seconds"])
    assert m["passed"] == 1.0 and m["threshold"] == 0.001
    speed = ran.artifact("speed")
    assert speed["kind"] == "hf" and sum(r["completionTokens"] for r in speed["requests"]) == m["completionTokens"]


def test_a_deployment_without_its_url_is_retried_and_names_the_field(run_eval: RunEval) -> None:
    ran = run_eval("suites", {"deployment": "assistant", "tasks": [{"name": "m", "suite": "math", "minAccuracy": 0}]})
    assert ran.code == 1 and ran.report["retryable"] is True
    assert "spec.deployment: no URL was passed for ModelDeployment 'assistant'" in ran.report["message"]


def test_lm_eval_task_on_a_gguf_file_is_refused_with_the_fix(run_eval: RunEval, tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")  # never loaded: the refusal comes first
    ran = run_eval("suites", {"model": {"uri": model.as_uri(), "format": "gguf"},
                              "tasks": [{"name": "m", "lmEvalTask": "cogumi_hard_math", "minAccuracy": 0}]})
    assert ran.code == 2 and ran.report["retryable"] is False
    assert "spec.tasks[0].lmEvalTask: lm-eval runs a Hugging Face folder" in ran.report["message"]
    assert "use `suite: hard-math`" in ran.report["message"]


def test_params_breaking_the_spec_rules_are_refused_before_any_work(run_eval: RunEval, tiny_llama: str) -> None:
    ran = run_eval("suites", {"model": {"uri": tiny_llama}, "tasks": [{"name": "m", "suite": "math"}]})
    assert ran.code == 2 and "set spec.baseline, or minAccuracy on every task" in ran.report["message"]


def test_hf_backend_on_a_gguf_reference_names_the_fix(run_eval: RunEval, tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    ran = run_eval("suites", {"model": {"uri": model.as_uri(), "format": "gguf"}, "backend": "hf",
                              "tasks": [{"name": "m", "suite": "math", "minAccuracy": 0}]})
    assert ran.code == 2 and "spec.model:" in ran.report["message"] and "set spec.backend to gguf or auto" in \
        ran.report["message"]


@pytest.mark.slow
def test_lm_eval_task_runs_in_lm_evals_harness_on_the_suites_items(run_eval: RunEval, tiny_llama: str) -> None:
    ran = run_eval("suites", {"model": {"uri": tiny_llama}, "tasks": [
        {"name": "harness", "lmEvalTask": "cogumi_math", "limit": 3, "maxNewTokens": 8, "minAccuracy": 0},
        {"name": "ours", "suite": "math", "limit": 3, "maxNewTokens": 8, "minAccuracy": 0}]})
    assert ran.code == 0, ran.logs[-4000:]
    assert ran.metrics["harness.n"] == 3 and ran.metrics["harness.passed"] == 1
    results = ran.artifact("report")["results"]
    assert "lm-eval cogumi_math" in results["harness"]["model"]
    ids = [i["id"] for i in results["harness"]["items"]]
    assert ids == [i["id"] for i in results["ours"]["items"]] == [i.id for i in get_suite("math").split("test", 3)]
    assert all(i["completion"] for i in results["harness"]["items"])


@pytest.mark.slow
def test_gguf_model_runs_suites_and_speed_in_llama_cpp(run_eval: RunEval, tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python (the compress extra) is not installed")
    from cogumi_workloads.serve.ggufkit import smollm2_gguf

    gguf = smollm2_gguf(tmp_path / "model")
    params = {"model": {"uri": gguf.as_uri(), "format": "gguf"}, "speed": {"maxNewTokens": 8},
              "tasks": [{"name": "math", "suite": "math", "limit": 2, "maxNewTokens": 8, "minAccuracy": 0}]}
    suites = run_eval("suites", params)
    assert suites.code == 0, suites.logs[-3000:]
    assert suites.metrics["math.n"] == 2 and suites.metrics["math.passed"] == 1
    assert all(i["completion"] for i in suites.artifact("report")["results"]["math"]["items"])
    speed = run_eval("speed", params)
    assert speed.code == 0, speed.logs[-3000:]
    assert speed.artifact("speed")["kind"] == "gguf" and speed.metrics["tokensPerSecond"] > 0
