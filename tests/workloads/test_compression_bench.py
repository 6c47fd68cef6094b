"""The compression benchmark's --resume: an earlier chain is rebuilt from its stage results only when
it ran with the same manifest and every stage succeeded; the peer is reused only when it matches."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from cogumi_workloads.compress import bench
from cogumi_workloads.runtime.logs import JsonLogger

STAGES = ("prune", "quantize", "export", "pack", "recover", "calibrate")


def _result(folder: Path, stage: str, attempt: int = 1, outcome: str = "Succeeded") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    report = {"stage": stage, "attempt": attempt, "outcome": outcome, "message": f"{stage} {outcome}",
              "metrics": {"seconds": float(attempt)},
              "artifacts": {"model": {"uri": f"file:///x/{stage}/{attempt}", "sha256": "0" * 64, "bytes": 1}}}
    (folder / f"bench-{stage}-{attempt}.json").write_text(json.dumps(report))


def _workdir(tmp_path: Path, ns: Any) -> Path:
    (tmp_path / "compressionrun.yaml").write_text(yaml.safe_dump(bench.manifest(ns), sort_keys=False))
    for stage in STAGES:
        _result(tmp_path / "run" / "results", stage)
    return tmp_path


def test_chain_is_rebuilt_in_stage_order_from_the_last_attempts(tmp_path: Path) -> None:
    ns = bench._parser().parse_args(["--workdir", str(tmp_path), "--resume"])
    work = _workdir(tmp_path, ns)
    _result(work / "run" / "results", "prune", attempt=2)
    status = bench.chain_from_results(work, bench.manifest(ns))
    assert status is not None and status["phase"] == "Succeeded" and status["resumed"] is True
    assert [s["name"] for s in status["stages"]] == list(STAGES)
    prune = status["stages"][0]
    assert prune["metrics"] == {"seconds": 2.0} and prune["artifacts"]["model"]["uri"] == "file:///x/prune/2"
    assert bench.run_chain(ns, JsonLogger("test")) == status  # no `cogumi run`: the chain is reused


def test_chain_is_not_reused_after_other_arguments_or_a_failed_stage(tmp_path: Path) -> None:
    ns = bench._parser().parse_args(["--workdir", str(tmp_path)])
    work = _workdir(tmp_path, ns)
    other = bench._parser().parse_args(["--workdir", str(tmp_path), "--sparsity", "0.5"])
    assert bench.chain_from_results(work, bench.manifest(other)) is None
    _result(work / "run" / "results", "calibrate", attempt=2, outcome="Failed")
    assert bench.chain_from_results(work, bench.manifest(ns)) is None
    (work / "run" / "results" / "bench-calibrate-2.json").unlink()
    (work / "run" / "results" / "bench-pack-1.json").unlink()
    assert bench.chain_from_results(work, bench.manifest(ns)) is None


def test_peer_is_reused_only_for_the_same_invocation(tmp_path: Path) -> None:
    ns = bench._parser().parse_args(["--workdir", str(tmp_path), "--resume"])
    peer = tmp_path / "peer"
    peer.mkdir()
    invocation = {"resource": {"kind": "CompressionRun", "name": "peer"}, "stage": "export",
                  "params": bench.manifest(ns)["spec"] | {"stages": ["export"]}, "output": peer.as_uri(),
                  "result": (peer / "result.json").as_uri()}
    (peer / "invocation.json").write_text(json.dumps(invocation))
    (peer / "result.json").write_text(json.dumps({"outcome": "Succeeded", "metrics": {"tokenAgreement": 0.9}}))
    assert bench.run_peer(ns, JsonLogger("test"))["metrics"] == {"tokenAgreement": 0.9}


def test_a_measured_row_is_read_back_on_resume_only_while_artifact_and_arguments_match(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    artifact = tmp_path / "model.gguf"
    artifact.write_bytes(b"x" * 10)
    calls: list[str] = []

    def row(*args: str) -> dict[str, Any]:
        ns = bench._parser().parse_args(["--workdir", str(tmp_path), "--items", "0", *args])
        return bench._measure_row("export", artifact, 10.0, None, tmp_path, ns, {"metrics": {"seconds": 3.0}},
                                  log=JsonLogger("test"))

    monkeypatch.setattr(bench.evaluation, "agreement", lambda path, ref: calls.append(str(path)) or 0.75)
    first = row()
    assert first["tokenAgreement"] == 0.75 and first["seconds"] == 3.0 and len(calls) == 1
    assert row("--resume") == first and len(calls) == 1  # read back, not measured again
    assert row() == first and len(calls) == 2  # without --resume every row is measured
    row("--resume", "--prompts", "8")  # other measuring arguments: measured again
    assert len(calls) == 3
    artifact.write_bytes(b"y" * 10)  # the artifact changed (same size, newer mtime): measured again
    os.utime(artifact, (artifact.stat().st_atime, artifact.stat().st_mtime + 5))
    row("--resume")
    assert len(calls) == 4
