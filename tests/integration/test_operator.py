"""The operator against a real kube-apiserver: samples, validation, stages, gates, retries,
restarts and deletion. Jobs run as local processes on the local node (no container engine here)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from clusterkit import Kube, eventually, sample
from kubernetes.client.exceptions import ApiException

from cogumi_operator import devenv
from cogumi_operator.devcluster import ClusterInfo, kubectl
from cogumi_operator.devcluster.procs import ProcessTable

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def small_dataset(name: str = "data", count: int = 60, **spec) -> dict:
    doc = sample("dataset.yaml")
    doc["metadata"] = {"name": name}
    for src in doc["spec"]["sources"]:
        src["generator"]["count"] = count
    doc["spec"].update(spec)
    return doc


def test_every_sample_is_accepted_by_the_api_server(kube: Kube):
    out = kube.kubectl("apply", "--dry-run=server", "-f", str(devenv.REPO_CRDS / "examples"))
    assert out.count("created (server dry run)") == len(list((devenv.REPO_CRDS / "examples").glob("*.yaml")))


INVALID = [
    ("Dataset", {"sources": []}, "spec.sources"),
    ("Dataset", {"sources": [{"uri": "file:///a", "generator": {"name": "arithmetic"}}]},
     "set exactly one of uri or generator"),
    ("Dataset", {"sources": [{"uri": "file:///a"}], "split": {"validation": 0.6, "test": 0.5}},
     "validation + test must be below 1"),
    ("CompressionRun", {"model": {"uri": "file:///m"}, "stages": ["pack", "pack"]}, "spec.stages[1]"),
    ("CompressionRun", {"model": {"uri": "file:///m"}, "pack": {"level": 30}}, "spec.pack.level"),
    ("ModifierTraining", {"domain": "poetry", "baseModel": {"uri": "file:///m"}}, "spec.domain"),
    ("RouterModel", {"domains": ["math", "code"], "thresholds": [0.8, 1.5]},
     "every threshold must lie strictly between 0 and 1"),
    ("Pipeline", {"nodes": [{"name": "a", "kind": "Dataset", "dependsOn": ["b"]}]},
     "dependsOn must name nodes of this pipeline"),
    ("Dataset", {"sources": [{"uri": "file:///a"}], "runtime": {"resources": {"gpus": 99}}},
     "spec.runtime.resources.gpus"),
]


@pytest.mark.parametrize(("kind", "spec", "field"), INVALID, ids=[f"{k}-{f}" for k, _, f in INVALID])
def test_invalid_resources_are_refused_naming_the_field(kube: Kube, kind: str, spec: dict, field: str):
    with pytest.raises(ApiException) as err:
        kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": kind, "metadata": {"name": "bad"}, "spec": spec})
    assert err.value.status == 422
    assert field in err.value.body


def test_unknown_field_is_refused_by_strict_field_validation(kube: Kube):
    doc = small_dataset()
    doc["spec"]["dedupe"] = {}
    with pytest.raises(Exception, match=r'unknown field "spec.dedupe"'):
        kube.kubectl("apply", "--validate=strict", stdin=__import__("yaml").safe_dump(doc))


def test_dataset_reaches_succeeded_through_real_jobs(kube: Kube):
    kube.create(small_dataset())
    obj = kube.wait_phase("datasets", "data", ("Succeeded", "Failed", "GateFailed"))
    status = obj["status"]
    assert status["phase"] == "Succeeded", status
    retries = kube.kubectl("get", "events", "--field-selector", "reason=StageRetrying")
    assert [(s["name"], s["phase"], s["attempts"]) for s in status["stages"]] == [
        ("ingest", "Succeeded", 1), ("dedup", "Succeeded", 1), ("filter", "Succeeded", 1), ("split", "Succeeded", 1)
    ], retries
    split = status["stages"][3]
    ingest = status["stages"][0]["metrics"]["records"]
    assert split["metrics"]["train"] + split["metrics"]["validation"] + split["metrics"]["test"] \
        == split["metrics"]["records"] <= ingest
    artifact = status["artifacts"]["dataset"]
    assert artifact["uri"].startswith("file://") and len(artifact["sha256"]) == 64 and artifact["bytes"] > 0
    assert status["gates"] == [{"metric": "split.train", "op": ">=", "threshold": 1.0,
                                "value": split["metrics"]["train"], "passed": True}]
    conds = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conds["Ready"] == ("True", "Succeeded") and conds["GatesPassed"] == ("True", "AllGatesPassed")
    assert all(c["observedGeneration"] == obj["metadata"]["generation"] for c in status["conditions"])
    table = kube.kubectl("get", "cogumi")
    assert "dataset.cogumi.ai/data" in table and "Succeeded" in table and "1/1" in table
    events = kube.kubectl("get", "events", "--field-selector", "involvedObject.name=data")
    assert "StageSucceeded" in events and "StageStarted" in events


def _packable_model(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"hidden_size": 64, "num_layers": 2}' * 20)
    (model / "weights.bin").write_bytes(bytes(range(256)) * 400 + os.urandom(2048))
    return model


def test_pack_stage_and_its_gate_on_status(kube: Kube, tmp_path: Path):
    model = _packable_model(tmp_path)
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "CompressionRun", "metadata": {"name": "pack"},
                 "spec": {"model": {"uri": model.as_uri()}, "stages": ["pack"], "pack": {"dictionaryBytes": 4096}}})
    status = kube.wait_phase("compressionruns", "pack", ("Succeeded", "Failed", "GateFailed"))["status"]
    assert status["phase"] == "Succeeded", status
    metrics = status["stages"][0]["metrics"]
    assert metrics["verified"] == 1.0 and metrics["ratio"] > 1
    assert status["gates"][0]["metric"] == "pack.verified" and status["gates"][0]["passed"] is True
    assert status["size"].endswith(("B", "KiB"))


def test_failed_gate_stops_with_gatefailed_and_the_measured_value(kube: Kube, tmp_path: Path):
    model = _packable_model(tmp_path)
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "CompressionRun", "metadata": {"name": "strict"},
                 "spec": {"model": {"uri": model.as_uri()}, "stages": ["pack"],
                          "gates": [{"metric": "pack.ratio", "op": ">=", "threshold": 1000}]}})
    status = kube.wait_phase("compressionruns", "strict", ("Succeeded", "Failed", "GateFailed"))["status"]
    assert status["phase"] == "GateFailed"
    ratio = status["stages"][0]["metrics"]["ratio"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "GateFailed" and f"measured {ratio:g}" in ready["message"]
    assert status["gates"][0]["passed"] is False and status["gatesSummary"] == "0/1"


def test_retryable_failure_is_retried_then_failed_with_the_reason(kube: Kube):
    doc = small_dataset("slow", count=1_000_000, runtime={"activeDeadlineSeconds": 1},
                        retry={"maxAttempts": 2, "backoffSeconds": 1})
    kube.create(doc)
    status = kube.wait_phase("datasets", "slow", ("Succeeded", "Failed", "GateFailed"))["status"]
    assert status["phase"] == "Failed"
    assert status["stages"][0]["attempts"] == 2
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "StageFailed" and "DeadlineExceeded" in ready["message"]
    assert kube.jobs() == ["slow-ingest-1", "slow-ingest-2"]


def test_permanent_failure_is_not_retried(kube: Kube, tmp_path: Path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "fine", "answer": "1"}\nthis line is not JSON\n')
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "Dataset", "metadata": {"name": "badjson"},
                 "spec": {"sources": [{"uri": broken.as_uri()}]}})
    status = kube.wait_phase("datasets", "badjson", ("Succeeded", "Failed", "GateFailed"))["status"]
    assert status["phase"] == "Failed" and status["stages"][0]["attempts"] == 1
    assert "broken.jsonl:2: not valid JSON" in status["stages"][0]["message"]
    assert "permanent" in next(c for c in status["conditions"] if c["type"] == "Ready")["message"]
    assert kube.jobs() == ["badjson-ingest-1"]


def test_killed_operator_restarts_without_duplicate_jobs_or_lost_results(kube: Kube, cluster: ClusterInfo):
    kube.create(small_dataset("restart", count=20_000))
    eventually(lambda: "restart-dedup-1" in kube.jobs(), 120, "the dedup stage to start")
    procs = ProcessTable(Path(cluster.state_dir))
    os.kill(procs.pid("operator"), signal.SIGKILL)
    eventually(lambda: procs.pid("operator") is None, 10, "the operator to die")
    time.sleep(3)  # stages finish while no operator runs; their results must not be lost
    devenv.up(Path(cluster.state_dir), print)
    status = kube.wait_phase("datasets", "restart", ("Succeeded", "Failed", "GateFailed"), timeout=400)["status"]
    assert status["phase"] == "Succeeded", status
    assert [s["attempts"] for s in status["stages"]] == [1, 1, 1, 1]
    expected = [f"restart-{s}-1" for s in ("dedup", "filter", "ingest", "split")]
    assert kube.jobs() == expected and kube.results() == expected


def test_deleting_a_resource_removes_its_jobs_and_results(kube: Kube):
    kube.create(small_dataset("gone"))
    kube.wait_phase("datasets", "gone", ("Succeeded",))
    assert len(kube.jobs()) == 4 and len(kube.results()) == 4
    kube.custom.delete_namespaced_custom_object("cogumi.ai", "v1alpha1", kube.ns, "datasets", "gone")
    eventually(lambda: not kube.jobs() and not kube.results(), 60, "garbage collection of Jobs and StageResults")


def test_kubectl_from_the_dev_cluster_reports_the_pinned_version(cluster: ClusterInfo):
    assert "v1.34.4" in kubectl(cluster, "version")
