"""Each specialisation kind end to end through `cogumi run` on the tiny random Llama with tiny data
(BaseTraining runs through the operator instead: tests/specialisation/test_operator.py; ModifierTraining on
the compressed base the MVP pipeline gives it: tests/workloads/test_compressed_base.py).

The tiny model's output is noise, so these check the plumbing, artifacts and status, not quality
(docs/specialisation.md has the measurements on SmolLM2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import artifact_path, cogumi_run, manifest, stage

pytestmark = pytest.mark.slow


def test_failureanalysis_clusters_and_labels_the_failures(tmp_path: Path, tiny_llama: str) -> None:
    code, status, out = cogumi_run(manifest("FailureAnalysis", "fa", {
        "model": {"uri": tiny_llama}, "suites": ["creative", "finance"], "samplesPerSuite": 5,
        "clusters": {"kMin": 2, "kMax": 4}}), tmp_path / "run")
    assert code == 0 and status["phase"] == "Succeeded", out
    evaluate = stage(status, "evaluate")["metrics"]
    assert evaluate["n.creative"] == 5 and evaluate["n.finance"] == 5
    failures = int(evaluate["failureCount"])
    assert failures == 10 - round(5 * evaluate["accuracy.creative"]) - round(5 * evaluate["accuracy.finance"])
    cluster = stage(status, "cluster")["metrics"]
    assert 2 <= cluster["clusters"] <= 4 and -1 <= cluster["silhouette"] <= 1
    label = stage(status, "label")["metrics"]
    assert label["failureCount"] == failures and label["termLabels"] == cluster["clusters"]
    folder = artifact_path(status, "failures")
    rows = [json.loads(line) for line in (folder / "failures.jsonl").read_text().splitlines()]
    summary = json.loads((folder / "clusters.json").read_text())
    assert len(rows) == failures and {r["label"] for r in rows} == {c["label"] for c in summary["clusters"]}
    assert sum(c["size"] for c in summary["clusters"]) == failures


def test_metalearning_meta_trains_builds_the_store_and_gates_few_shot(tmp_path: Path, tiny_llama: str) -> None:
    code, status, out = cogumi_run(manifest("MetaLearning", "meta", {
        "baseModel": {"uri": tiny_llama}, "domains": ["creative", "finance"], "algorithm": "fomaml",
        "metaSteps": 2, "innerSteps": 1, "heldOutPerDomain": 3, "lora": {"rank": 4},
        "fewShot": {"k": 2, "storeSize": 6}, "gates": []}), tmp_path / "run")
    assert code == 0 and status["phase"] == "Succeeded", out
    meta = stage(status, "meta-train")["metrics"]
    assert meta["metaSteps"] == 2 and meta["heldOutLossBefore"] > 0 and meta["heldOutLossAfter"] > 0
    assert stage(status, "fewshot-store")["metrics"]["examples"] == 6
    gate = stage(status, "gate")["metrics"]
    assert gate["n"] == 6 and gate["fewShotGain"] == pytest.approx(gate["fewShotAccuracy"] - gate["plainAccuracy"])
    report = json.loads((artifact_path(status, "gate") / "report.json").read_text())
    assert {c: sorted(r) for c, r in report.items()} == {c: ["creative", "finance"] for c in
                                                         ("plain", "baseFewShot", "fewShot")}
    assert all(r["n"] == 3 for by_domain in report.values() for r in by_domain.values())
