"""Pure builders of the Kubernetes objects the operator creates."""

from __future__ import annotations

import json
from typing import Any

from cogumi_api.meta import API_VERSION, GROUP, Runtime
from cogumi_operator.engine.model import JobRequest, Resource
from cogumi_operator.settings import Settings

MANAGED_BY = {"app.kubernetes.io/managed-by": "cogumi"}
PVC_ROOT = "/mnt/pvc"
SPEC_ENV = "COGUMI_STAGE_SPEC"


def pvc_claims(value: Any) -> set[str]:
    """Every claim named by a pvc://claim/... URI anywhere in a value (mounted into the Job)."""
    if isinstance(value, str):
        return {value[len("pvc://"):].split("/", 1)[0]} if value.startswith("pvc://") else set()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*(pvc_claims(v) for v in value)) if value else set()
    return set()


def owner_reference(kind: str, name: str, uid: str) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "name": name, "uid": uid,
            "controller": True, "blockOwnerDeletion": True}


def build_child(manifest: dict[str, Any], parent_kind: str, parent_name: str, parent_uid: str,
                namespace: str) -> dict[str, Any]:
    """A Pipeline node's resource, owned by the Pipeline."""
    meta = manifest["metadata"]
    meta["namespace"] = namespace
    meta["labels"] = {**MANAGED_BY, f"{GROUP}/pipeline": parent_name}
    meta["ownerReferences"] = [owner_reference(parent_kind, parent_name, parent_uid)]
    return manifest


def labels(res: Resource, **extra: str) -> dict[str, str]:
    return {**MANAGED_BY, f"{GROUP}/kind": res.kind.lower(), f"{GROUP}/resource": res.name,
            f"{GROUP}/uid": res.uid, **{f"{GROUP}/{k}": v for k, v in extra.items()}}


def stage_command(settings: Settings, stage_id: str) -> list[str]:
    """The container command of a stage Job (the workload image's entrypoint)."""
    return [settings.python, "-m", "cogumi_workloads", stage_id, "--spec-env", SPEC_ENV]


def cpu_threads(quantity: str) -> int:
    """Whole CPUs of a Kubernetes CPU quantity, at least one: "500m" → 1, "2" → 2, "2.5" → 2."""
    cores = int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)
    return max(1, int(cores))


def thread_env(cpu: str) -> list[dict[str, str]]:
    """OpenMP/MKL threads sized to the container's CPU request.

    A process in a container sees every core of the host; torch would start one OpenMP thread per
    core, and several such processes on the same cores spin at each other's barriers (measured here:
    several times slower). One thread per requested CPU keeps a stage within what it asked for.
    """
    threads = str(cpu_threads(cpu))
    return [{"name": "OMP_NUM_THREADS", "value": threads}, {"name": "MKL_NUM_THREADS", "value": threads}]


def _container_resources(runtime: Runtime, gpu: bool) -> dict[str, Any]:
    res = runtime.resources
    requests: dict[str, str] = {"cpu": res.cpu, "memory": res.memory}
    limits: dict[str, str] = {"memory": res.memory}
    if gpu and res.gpus:
        limits["nvidia.com/gpu"] = str(res.gpus)
        requests["nvidia.com/gpu"] = str(res.gpus)
    return {"requests": requests, "limits": limits}


def build_job(res: Resource, req: JobRequest, settings: Settings) -> dict[str, Any]:
    runtime: Runtime = res.spec.runtime  # type: ignore[attr-defined]
    env = [{"name": SPEC_ENV, "value": req.invocation.model_dump_json(by_alias=True, exclude_none=True)},
           {"name": "COGUMI_PVC_ROOT", "value": PVC_ROOT}, *thread_env(runtime.resources.cpu)]
    container: dict[str, Any] = {
        "name": "stage",
        "image": runtime.image or settings.workload_image,
        "command": stage_command(settings, req.stage_id),
        "env": env,
        "resources": _container_resources(runtime, req.gpu),
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": runtime.service_account_name or settings.service_account,
        "containers": [container],
    }
    if runtime.node_selector:
        pod["nodeSelector"] = dict(runtime.node_selector)
    if runtime.tolerations:
        pod["tolerations"] = [t.wire() for t in runtime.tolerations]
    claims = sorted(pvc_claims(req.invocation.model_dump(by_alias=True)))
    if claims:
        pod["volumes"] = [{"name": f"pvc-{i}", "persistentVolumeClaim": {"claimName": c}}
                          for i, c in enumerate(claims)]
        container["volumeMounts"] = [{"name": f"pvc-{i}", "mountPath": f"{PVC_ROOT}/{c}"}
                                     for i, c in enumerate(claims)]
    job_labels = labels(res, stage=req.stage, attempt=str(req.attempt), run=str(req.run))
    spec: dict[str, Any] = {
        "backoffLimit": 0,  # the operator retries, so it can count attempts and back off
        "template": {"metadata": {"labels": job_labels}, "spec": pod},
    }
    if runtime.active_deadline_seconds:
        spec["activeDeadlineSeconds"] = runtime.active_deadline_seconds
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": req.name, "namespace": res.namespace, "labels": job_labels,
                     "ownerReferences": [owner_reference(res.kind, res.name, res.uid)]},
        "spec": spec,
    }


def default_output(settings: Settings, res: Resource) -> str:
    """Where a resource writes when its spec names no output."""
    out = getattr(res.spec, "output", None)
    if out:
        return out
    return f"{settings.artifact_root.rstrip('/')}/{res.namespace}/{res.kind.lower()}/{res.name}"


SERVER_CONFIG_ENV = "COGUMI_SERVER_CONFIG"
SERVER_PORT = 8080
SPEC_HASH_ANNOTATION = f"{GROUP}/spec-hash"


def server_command(settings: Settings) -> list[str]:
    """The predictor container's command (the server image's entrypoint)."""
    return [settings.python, "-m", "cogumi_workloads", "serve", "--config-env", SERVER_CONFIG_ENV,
            "--port", str(SERVER_PORT)]


def build_inference_service(res: Resource, config: dict[str, Any], digest: str,
                            settings: Settings) -> dict[str, Any]:
    """The KServe InferenceService of a ModelDeployment: our server as a custom predictor.

    `config` is the ModelDeployment spec with every reference resolved to a URI; every pvc://
    claim it names is mounted at /mnt/pvc/<claim>, where the server's URI resolver finds it.
    """
    spec = res.spec
    compute = spec.resources  # type: ignore[attr-defined]
    requests: dict[str, str] = {"cpu": compute.cpu, "memory": compute.memory}
    limits: dict[str, str] = {"memory": compute.memory}
    if compute.gpus:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = str(compute.gpus)
    container: dict[str, Any] = {
        "name": "kserve-container",
        "image": spec.image or settings.server_image,  # type: ignore[attr-defined]
        "command": server_command(settings),
        "env": [{"name": SERVER_CONFIG_ENV, "value": json.dumps(config, sort_keys=True)},
                {"name": "COGUMI_PVC_ROOT", "value": PVC_ROOT}, *thread_env(compute.cpu)],
        "ports": [{"containerPort": SERVER_PORT, "protocol": "TCP"}],
        "resources": {"requests": requests, "limits": limits},
        "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": SERVER_PORT}},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }
    predictor: dict[str, Any] = {
        "minReplicas": spec.replicas.min,  # type: ignore[attr-defined]
        "maxReplicas": spec.replicas.max,  # type: ignore[attr-defined]
        "containers": [container],
    }
    claims = sorted(pvc_claims(config))
    if claims:
        predictor["volumes"] = [{"name": f"pvc-{i}", "persistentVolumeClaim": {"claimName": c, "readOnly": True}}
                                for i, c in enumerate(claims)]
        container["volumeMounts"] = [{"name": f"pvc-{i}", "mountPath": f"{PVC_ROOT}/{c}", "readOnly": True}
                                     for i, c in enumerate(claims)]
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": res.name, "namespace": res.namespace, "labels": labels(res),
                     "annotations": {SPEC_HASH_ANNOTATION: digest},
                     "ownerReferences": [owner_reference(res.kind, res.name, res.uid)]},
        "spec": {"predictor": predictor},
    }
