"""Fixtures of the workload tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import CliResult, RunStage, run_cli


@pytest.fixture
def run_stage(tmp_path: Path) -> RunStage:
    """Run ``<kind>.<stage>`` through the CLI with a file:// result; returns code, stderr and report."""

    def _run(stage_id: str, params: dict[str, Any], *, inputs: dict[str, Any] | None = None,
             kind: str | None = None, out: Path | None = None, env: dict[str, str] | None = None) -> CliResult:
        kind_name, stage = stage_id.split(".", 1)
        result = tmp_path / f"result-{stage_id}.json"
        invocation = {
            "resource": {"kind": kind or {"dataset": "Dataset", "compressionrun": "CompressionRun"}.get(
                kind_name, kind_name.capitalize()), "name": "demo", "namespace": "default", "uid": "u-1"},
            "stage": stage,
            "attempt": 1,
            "params": params,
            "inputs": inputs or {},
            "output": (out or tmp_path / "out").as_uri(),
            "result": result.as_uri(),
        }
        spec = tmp_path / f"invocation-{stage_id}.json"
        spec.write_text(json.dumps(invocation))
        proc = run_cli(stage_id, "--spec", str(spec), env=env)
        report = json.loads(result.read_text()) if result.exists() else None
        return CliResult(proc.returncode, proc.stderr, report)

    return _run
