"""A Pipeline reconciled by the operator: children in order, owned, mirrored; a failed node stops it."""

from __future__ import annotations

from pathlib import Path

import pytest
from clusterkit import Kube, eventually

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

DATA = {"sources": [{"generator": {"name": "percent", "count": 40}}]}


def test_pipeline_creates_children_in_order_and_mirrors_them(kube: Kube):
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "Pipeline", "metadata": {"name": "pl"},
                 "spec": {"nodes": [
                     {"name": "second", "kind": "Dataset", "dependsOn": ["first"], "spec": DATA},
                     {"name": "first", "kind": "Dataset", "spec": DATA}]}})
    first = eventually(lambda: kube.get("datasets", "pl-first"), 30, "the first node")
    owner = first["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Pipeline", "pl", True)
    with pytest.raises(Exception, match="NotFound"):
        kube.get("datasets", "pl-second")  # not before its dependency succeeded
    status = kube.wait_phase("pipelines", "pl", ("Succeeded", "Failed"), timeout=180)["status"]
    assert status["phase"] == "Succeeded", status
    assert [(s["name"], s["phase"], s["job"]) for s in status["stages"]] == [
        ("first", "Succeeded", "Dataset/pl-first"), ("second", "Succeeded", "Dataset/pl-second")]
    first = kube.get("datasets", "pl-first")
    second = kube.get("datasets", "pl-second")
    assert first["status"]["conditions"][0]["lastTransitionTime"] <= second["metadata"]["creationTimestamp"]
    assert status["gatesSummary"] == "2/2" and status["extra"] == {"nodes": "2/2"}
    table = kube.kubectl("get", "cogumi")
    assert "pipeline.cogumi.ai/pl" in table and "dataset.cogumi.ai/pl-second" in table


def test_a_failed_node_stops_the_pipeline(kube: Kube, tmp_path: Path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text("not JSON\n")
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "Pipeline", "metadata": {"name": "bad"},
                 "spec": {"nodes": [
                     {"name": "calib", "kind": "Dataset", "spec": {"sources": [{"uri": broken.as_uri()}]}},
                     {"name": "after", "kind": "Dataset", "dependsOn": ["calib"], "spec": DATA}]}})
    status = kube.wait_phase("pipelines", "bad", ("Succeeded", "Failed"), timeout=120)["status"]
    assert status["phase"] == "Failed"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "NodeFailed" and "node calib (Dataset) Failed" in ready["message"]
    assert [s["phase"] for s in status["stages"]] == ["Failed", "Pending"]
    with pytest.raises(Exception, match="NotFound"):
        kube.get("datasets", "bad-after")
