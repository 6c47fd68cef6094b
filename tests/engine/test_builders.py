"""The Job builder: a pure function of the resource, the stage request and the settings."""

from __future__ import annotations

from cogumi_api.compression import CompressionRunSpec
from cogumi_api.meta import Status
from cogumi_operator import builders
from cogumi_operator.engine import Observed, Resource, step
from cogumi_operator.plans import plan_for
from cogumi_operator.settings import Settings


def _request(raw: dict):
    spec = CompressionRunSpec.model_validate(raw)
    res = Resource(kind="CompressionRun", name="cr", namespace="ns", uid="u-1", generation=3, spec=spec,
                   status=Status(), raw_spec=raw)
    acts = step(res, plan_for("CompressionRun"), Observed(), __import__("datetime").datetime.now(
        __import__("datetime").UTC), output_root="pvc://artifacts/ns/cr", result_uri=lambda j: f"k8s://ns/{j}")
    return res, acts.create[0]


def test_job_carries_owner_labels_gpu_scheduling_and_mounts():
    raw = {"model": {"uri": "pvc://models/smollm2"}, "stages": ["prune", "pack"],
           "runtime": {"image": "reg/w:1", "resources": {"cpu": "4", "memory": "16Gi", "gpus": 2},
                       "nodeSelector": {"gpu": "h100"},
                       "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                       "activeDeadlineSeconds": 600}}
    res, req = _request(raw)
    job = builders.build_job(res, req, Settings())
    meta, pod = job["metadata"], job["spec"]["template"]["spec"]
    assert meta["name"] == "cr-prune-1" and meta["namespace"] == "ns"
    assert meta["ownerReferences"][0] == {"apiVersion": "cogumi.ai/v1alpha1", "kind": "CompressionRun",
                                          "name": "cr", "uid": "u-1", "controller": True,
                                          "blockOwnerDeletion": True}
    assert meta["labels"]["cogumi.ai/stage"] == "prune" and meta["labels"]["cogumi.ai/uid"] == "u-1"
    container = pod["containers"][0]
    assert container["image"] == "reg/w:1"
    assert container["command"] == ["python", "-m", "cogumi_workloads", "compressionrun.prune",
                                    "--spec-env", "COGUMI_STAGE_SPEC"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert pod["nodeSelector"] == {"gpu": "h100"} and pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/mnt/pvc/artifacts", "/mnt/pvc/models"}
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 600
    assert pod["restartPolicy"] == "Never"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "4"  # threads sized to the CPU request


def test_threads_follow_the_cpu_request():
    assert [builders.cpu_threads(q) for q in ("500m", "1", "2", "2.5", "1500m", "16")] == [1, 1, 2, 2, 1, 16]


def test_cpu_only_stage_never_requests_gpus():
    res, req = _request({"model": {"uri": "file:///m"}, "stages": ["pack"],
                         "runtime": {"resources": {"gpus": 1}}})
    job = builders.build_job(res, req, Settings(workload_image="img:2"))
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in container["resources"]["limits"] and container["image"] == "img:2"
    # Only the claim of the output root is mounted (the model is a file:// URI).
    assert job["spec"]["template"]["spec"]["volumes"] == [
        {"name": "pvc-0", "persistentVolumeClaim": {"claimName": "artifacts"}}]


def test_long_names_stay_dns_labels():
    from cogumi_operator.engine.model import job_name

    name = job_name("a" * 70, "fewshot-store", 12, 3)
    assert len(name) <= 63 and name.endswith("r12-fewshot-store-3")
    assert name == job_name("a" * 70, "fewshot-store", 12, 3)


def test_settings_come_from_prefixed_environment():
    s = Settings.from_env({"COGUMI_WORKLOAD_IMAGE": "x:1", "COGUMI_RECONCILE_INTERVAL": "0.5", "OTHER": "y"})
    assert s.workload_image == "x:1" and s.reconcile_interval == 0.5
