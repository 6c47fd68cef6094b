"""`cogumi run -f` of an Evaluation: the operator's engine runs the stages as local processes; a task with
minAccuracy 1.0 fails its gate on the tiny Llama's noise, which stops the run before the speed stage."""

from __future__ import annotations

from pathlib import Path

import pytest
from specialisation.helpers import cogumi_run, manifest, stage, stage_logs

pytestmark = pytest.mark.slow


def test_cogumi_run_stops_at_the_failed_gate_with_every_verdict_on_status(tmp_path: Path, tiny_llama: str) -> None:
    code, status, out = cogumi_run(manifest("Evaluation", "tiny-eval", {
        "model": {"uri": tiny_llama}, "speed": {"maxNewTokens": 8, "minTokensPerSecond": 0.01}, "tasks": [
            {"name": "math", "suite": "math", "limit": 3, "maxNewTokens": 8, "minAccuracy": 0.0},
            {"name": "finance", "suite": "finance", "limit": 2, "maxNewTokens": 8, "minAccuracy": 1.0}]}),
        tmp_path / "run")
    assert status.get("phase") == "GateFailed", out + stage_logs(tmp_path / "run")[-3000:]
    assert code == 1
    suites = stage(status, "suites")
    assert suites["phase"] == "Succeeded" and "1/2 tasks passed" in suites["message"]
    assert stage(status, "speed")["phase"] == "Pending" and stage(status, "speed")["attempts"] == 0
    gates = {g["metric"]: g for g in status["gates"]}
    assert gates["suites.math.passed"]["passed"] is True and gates["suites.math.passed"]["value"] == 1
    assert gates["suites.finance.passed"]["passed"] is False and gates["suites.finance.passed"]["value"] == 0
    assert "value" not in gates["speed.tokensPerSecond"] and status["gatesSummary"] == "1/3"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "GateFailed" and "gate suites.finance.passed == 1 failed: measured 0" in ready["message"]
    assert suites["metrics"]["finance.threshold"] == 1.0 and suites["artifacts"]["report"]["sha256"]
