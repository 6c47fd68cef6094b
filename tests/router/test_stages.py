"""Each RouterModel stage through the real CLI on small data (two domains, ten queries each)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from cogumi_workloads.router.bundle import read_manifest

from .conftest import SMALL_SPEC, StageRun, run_stage

pytestmark = pytest.mark.slow


def test_train_reports_accuracy_latency_and_a_verified_router(trained: StageRun) -> None:
    report = trained.report
    assert report is not None and report["outcome"] == "Succeeded"
    metrics = report["metrics"]
    assert 0.0 <= metrics["accuracyLow"] <= metrics["accuracy"] <= metrics["accuracyHigh"] <= 1.0
    assert metrics["accuracy"] >= 0.8  # arithmetic vs constrained writing: far apart even with ten examples
    assert metrics["trainExamples"] == 20 and metrics["testExamples"] == 20
    assert {"accuracy.math", "accuracy.creative", "naturalAccuracy", "latencyCpuP99Ms"} <= set(metrics)
    assert 0 < metrics["latencyP50Ms"] <= metrics["latencyP99Ms"]
    folder = trained.artifact("router")
    manifest = read_manifest(folder, "cogumi.router/v1")
    assert manifest["domains"] == ["math", "creative"] and manifest["threshold"] is None
    assert manifest["mlp"] == {"inputs": 384, "hidden": [16, 8], "outputs": 2, "activation": "relu"}
    assert manifest["embedder"]["uri"] == "builtin://minilm-l6-v2"
    assert sorted(manifest["files"]) == ["labels.json", "weights.safetensors"]


def test_escalation_distils_a_fast_student(escalated: StageRun) -> None:
    assert escalated.report is not None
    metrics = escalated.report["metrics"]
    for name in ("teacherAccuracy", "studentAccuracy", "studentDirectAccuracy", "studentAgreement"):
        assert 0.0 <= metrics[name] <= 1.0
    assert metrics["examples"] == 40 and metrics["testExamples"] == 10 and metrics["transferExamples"] == 30
    assert metrics["studentLatencyCpuP99Ms"] < 3.0
    manifest = read_manifest(escalated.artifact("escalation"), "cogumi.escalation/v1")
    assert {"student.npz", "teacher.safetensors", "examples.jsonl"} == set(manifest["files"])
    rows = [json.loads(line) for line in (escalated.artifact("escalation") / "examples.jsonl").read_text().splitlines()]
    assert len(rows) == 40 and {r["split"] for r in rows} == {"train", "test"}


def test_thresholds_bundle_router_threshold_and_escalation(trained: StageRun, escalated: StageRun,
                                                           tmp_path: Path) -> None:
    assert trained.report is not None and escalated.report is not None
    inputs = {**trained.report["artifacts"], **escalated.report["artifacts"]}
    run = run_stage(tmp_path, "thresholds", SMALL_SPEC, inputs)
    assert run.code == 0, run.stderr[-3000:]
    assert run.report is not None
    metrics = run.report["metrics"]
    assert 0.5 <= metrics["chosenThreshold"] <= 0.99 and 0.0 <= metrics["coverage"] <= 1.0
    assert metrics["validationExamples"] == 20 and "coverage.t80" in metrics
    assert 0.0 <= metrics["naturalCoverage"] <= 1.0  # the hand-written queries, a diagnostic
    choice = json.loads(run.artifact("thresholds").read_text())
    assert choice["chosen"]["threshold"] == metrics["chosenThreshold"] and len(choice["candidates"]) == 50
    assert [c["threshold"] for c in choice["natural"]] == sorted({0.8, metrics["chosenThreshold"]})
    bundle = run.artifact("router")
    manifest = read_manifest(bundle, "cogumi.router/v1")
    assert manifest["threshold"] == metrics["chosenThreshold"] and manifest["thresholdSource"] == "thresholds"
    assert manifest["escalation"] == "escalation"
    assert {"thresholds.json", "escalation/student.npz", "escalation/manifest.json"} <= set(manifest["files"])


def test_adapt_without_logs_fails_permanently_naming_the_field(tmp_path: Path) -> None:
    run = run_stage(tmp_path, "adapt", {**SMALL_SPEC, "adaptive": {"schedule": "0 3 * * *"}})
    assert run.code == 2
    assert run.report is not None and run.report["retryable"] is False
    assert "spec.adaptive.logs is not set" in run.report["message"]


def test_adapt_learns_a_threshold_from_logs(trained: StageRun, tmp_path: Path) -> None:
    assert trained.report is not None
    rng = random.Random(1)
    lines = []
    for i in range(600):
        confidence = rng.uniform(0.4, 1.0)
        p = 1 / (1 + math.exp(-(12 * (confidence - 0.75) + math.log(9))))
        lines.append(json.dumps({"query": f"q{i}", "domain": ["math", "creative"][i % 2],
                                 "confidence": confidence, "user_satisfied": rng.random() < p}))
    logs = tmp_path / "interactions.jsonl"
    logs.write_text("\n".join(lines) + "\n")
    spec = {**SMALL_SPEC, "adaptive": {"logs": {"uri": logs.as_uri()}}}
    run = run_stage(tmp_path, "adapt", spec, trained.report["artifacts"])
    assert run.code == 0, run.stderr[-3000:]
    assert run.report is not None
    metrics = run.report["metrics"]
    assert metrics["logs"] == 600 and abs(metrics["threshold"] - 0.75) < 0.08 and metrics["previousThreshold"] == -1
    manifest = read_manifest(run.artifact("router"), "cogumi.router/v1")
    assert manifest["thresholdSource"] == "adapt" and manifest["threshold"] == metrics["threshold"]
    assert set(manifest["domainThresholds"]) == {"math", "creative"}
    assert json.loads(run.artifact("adaptive").read_text())["logs"] == 600
