"""The CLI contract: list, unknown or unimplemented stages, bad invocations, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cogumi_api.stage import ObjectRef, StageInvocation
from cogumi_workloads.registry import STAGES
from cogumi_workloads.runtime import runner
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.stages import dataset_ingest

from .helpers import RunStage, run_cli


def test_list_prints_the_stage_ids() -> None:
    proc = run_cli("list")
    assert proc.returncode == 0
    ids = [line.split("\t")[0] for line in proc.stdout.splitlines()]
    assert ids == sorted(STAGES)
    assert {"compressionrun.pack", "dataset.dedup", "dataset.filter", "dataset.ingest", "dataset.split",
            "routermodel.train", "routermodel.escalation", "routermodel.thresholds", "routermodel.adapt"} <= set(ids)


@pytest.mark.parametrize(("stage_id", "kind"), [("basetraining.nonsense", "BaseTraining"),
                                                ("compressionrun.nonsense", "CompressionRun"),
                                                ("dataset.nonsense", "Dataset")])
def test_unimplemented_stage_fails_permanently_with_a_report(run_stage: RunStage, stage_id: str, kind: str) -> None:
    res = run_stage(stage_id, {}, kind=kind)
    assert res.code == 2
    assert res.report and res.report["outcome"] == "Failed" and res.report["retryable"] is False
    assert "not implemented in this version" in res.report["message"]
    assert stage_id in res.report["message"]


def test_stage_id_must_match_the_invocation(run_stage: RunStage) -> None:
    res = run_stage("dataset.ingest", {"sources": [{"generator": {"name": "percent"}}]}, kind="CompressionRun")
    assert res.code == 2 and "compressionrun.ingest" in res.report["message"]


def test_unparseable_invocation_exits_2(tmp_path: Path) -> None:
    spec = tmp_path / "inv.json"
    spec.write_text("{not json")
    proc = run_cli("dataset.ingest", "--spec", str(spec))
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr
    proc = run_cli("dataset.ingest", "--spec-env", "COGUMI_INV", env={"COGUMI_INV": json.dumps({"stage": "x"})})
    assert proc.returncode == 2 and "resource" in proc.stderr
    proc = run_cli("dataset.ingest")
    assert proc.returncode == 2


def test_spec_env_runs_a_stage(tmp_path: Path) -> None:
    result = tmp_path / "r.json"
    inv = {"resource": {"kind": "Dataset", "name": "d"}, "stage": "ingest",
           "params": {"sources": [{"generator": {"name": "interest", "count": 20}}]},
           "output": str(tmp_path / "out"), "result": str(result)}
    proc = run_cli("dataset.ingest", "--spec-env", "INV", env={"INV": json.dumps(inv)})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(result.read_text())
    assert report["metrics"]["records"] == 20 and report["artifacts"]["records"]["uri"].endswith("records.jsonl")


def _invocation(tmp_path: Path) -> StageInvocation:
    return StageInvocation(resource=ObjectRef(kind="Dataset", name="d"), stage="ingest",
                           params={"sources": [{"generator": {"name": "percent", "count": 3}}]},
                           output=tmp_path.as_uri(), result=(tmp_path / "r.json").as_uri())


def test_unexpected_error_is_retryable_with_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(ctx: object) -> None:
        raise ZeroDivisionError("kaboom")

    monkeypatch.setattr(dataset_ingest, "run", explode)
    stream = io.StringIO()
    code = runner.execute("dataset.ingest", _invocation(tmp_path), JsonLogger("dataset.ingest", stream=stream))
    assert code == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["outcome"] == "Failed" and report["retryable"] is True and "kaboom" in report["message"]
    assert "Traceback" in report["logsTail"] and "ZeroDivisionError" in stream.getvalue()


def test_report_failure_is_retryable(tmp_path: Path) -> None:
    inv = _invocation(tmp_path).model_copy(update={"result": "k8s://only-namespace"})
    code = runner.execute("dataset.ingest", inv, JsonLogger("dataset.ingest", stream=io.StringIO()))
    assert code == 1
