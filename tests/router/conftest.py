"""Fixtures of the router tests: stages run through the real CLI, one small trained router per session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SMALL_SPEC: dict[str, Any] = {
    "domains": ["math", "creative"], "examplesPerDomain": 10, "hidden": [16, 8], "thresholds": [0.8],
    "escalation": {"examples": 40},
}


@dataclass
class StageRun:
    code: int
    stderr: str
    report: dict[str, Any] | None
    output: Path

    def artifact(self, name: str) -> Path:
        assert self.report is not None, self.stderr[-3000:]
        return Path(self.report["artifacts"][name]["uri"].removeprefix("file://"))


def run_stage(workdir: Path, stage: str, params: dict[str, Any], inputs: dict[str, Any] | None = None) -> StageRun:
    """``python -m cogumi_workloads routermodel.<stage>`` with a file:// result and output."""
    workdir.mkdir(parents=True, exist_ok=True)
    result, output = workdir / f"result-{stage}.json", workdir / f"out-{stage}"
    invocation = {"resource": {"kind": "RouterModel", "name": "t", "namespace": "default"}, "stage": stage,
                  "params": params, "inputs": inputs or {}, "output": output.as_uri(), "result": result.as_uri()}
    spec = workdir / f"invocation-{stage}.json"
    spec.write_text(json.dumps(invocation))
    proc = subprocess.run([sys.executable, "-m", "cogumi_workloads", f"routermodel.{stage}", "--spec", str(spec)],
                          capture_output=True, text=True, env=dict(os.environ), timeout=900, check=False)
    report = json.loads(result.read_text()) if result.exists() else None
    return StageRun(proc.returncode, proc.stderr, report, output)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> StageRun:
    """The train stage on two domains × 10 queries (shared by the loader and later-stage tests)."""
    run = run_stage(tmp_path_factory.mktemp("router-train"), "train", SMALL_SPEC)
    assert run.code == 0, run.stderr[-3000:]
    return run


@pytest.fixture(scope="session")
def escalated(tmp_path_factory: pytest.TempPathFactory) -> StageRun:
    run = run_stage(tmp_path_factory.mktemp("router-escalation"), "escalation", SMALL_SPEC)
    assert run.code == 0, run.stderr[-3000:]
    return run
