"""ModelDeployment: references → one InferenceService; status mirrors its readiness."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from cogumi_api.meta import Artifact, Status
from cogumi_api.serving import ModelDeploymentSpec
from cogumi_operator import builders
from cogumi_operator.engine import Resource
from cogumi_operator.engine.deployment import ServiceView, step
from cogumi_operator.engine.reconcile import spec_hash
from cogumi_operator.engine.refs import Referenced
from cogumi_operator.settings import Settings

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RAW = {"model": {"fromResource": "CompressionRun/c", "format": "gguf"},
       "modifiers": [{"domain": "math", "adapter": {"uri": "pvc://adapters/math", "format": "gguf"}}],
       "mode": "accurate", "replicas": {"min": 0, "max": 2}, "resources": {"gpus": 1}}


def res(raw: dict, status: Status | None = None) -> Resource:
    return Resource(kind="ModelDeployment", name="md", namespace="ns", uid="u", generation=1,
                    spec=ModelDeploymentSpec.model_validate(raw), status=status or Status(), raw_spec=raw)


GGUF = Artifact(uri="pvc://artifacts/c/model.gguf", sha256="a" * 64, bytes=1)


def test_waits_for_the_model_then_applies_and_mirrors_readiness():
    acts = step(res(RAW), None, {"CompressionRun/c": Referenced("Running", {})}, NOW)
    assert acts.apply is None and acts.status.phase == "Pending"
    known = {"CompressionRun/c": Referenced("Succeeded", {"gguf": GGUF})}
    acts = step(res(RAW, acts.status), None, known, NOW)
    assert acts.apply["model"] == {"uri": GGUF.uri, "format": "gguf"} and acts.status.phase == "Pending"
    served = ServiceView(spec_hash(RAW), ready=True, url="http://md.ns.example")
    acts = step(res(RAW, acts.status), served, known, NOW)
    assert acts.apply is None and acts.status.phase == "Running" and acts.status.extra == {"url": served.url}
    conds = {c.type: c.status for c in acts.status.conditions}
    assert conds["Ready"] == "True" and conds["Progressing"] == "False"


def test_a_gguf_adapter_reference_resolves_to_the_modifier_trainings_gguf_lora():
    adapter = {"fromResource": "ModifierTraining/m", "format": "gguf"}
    raw = {**RAW, "modifiers": [{"domain": "code", "adapter": adapter}]}
    lora = Artifact(uri="pvc://artifacts/m/adapter.gguf", sha256="b" * 64, bytes=2)
    known = {"CompressionRun/c": Referenced("Succeeded", {"gguf": GGUF}),
             "ModifierTraining/m": Referenced("Succeeded", {"adapter": Artifact(uri="pvc://artifacts/m/adapter"),
                                                            "gguf": lora})}
    acts = step(res(raw), None, known, NOW)
    assert acts.apply["modifiers"][0]["adapter"] == {"uri": lora.uri, "format": "gguf"}


def test_adapters_must_have_the_models_format():
    with pytest.raises(ValidationError, match=r"adapter.format must equal model.format.*differs: math"):
        ModelDeploymentSpec.model_validate({**RAW, "modifiers": [{"domain": "math", "adapter": {"uri": "pvc://a"}}]})


def test_suspend_removes_the_service_and_a_spec_change_reapplies():
    known = {"CompressionRun/c": Referenced("Succeeded", {"gguf": GGUF})}
    served = ServiceView(spec_hash(RAW), ready=True, url="http://x")
    acts = step(res({**RAW, "suspend": True}), served, known, NOW)
    assert acts.delete and acts.status.phase == "Suspended"
    acts = step(res({**RAW, "mode": "fast"}), served, known, NOW)
    assert acts.apply is not None and acts.apply["mode"] == "fast" and acts.status.phase == "Pending"


def test_inference_service_builder():
    r = res(RAW)
    config = {**RAW, "model": {"uri": GGUF.uri, "format": "gguf"}}
    isvc = builders.build_inference_service(r, config, "h1", Settings(server_image="srv:1"))
    pred = isvc["spec"]["predictor"]
    container = pred["containers"][0]
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1" and isvc["metadata"]["annotations"] == {
        "cogumi.ai/spec-hash": "h1"}
    assert (pred["minReplicas"], pred["maxReplicas"]) == (0, 2)
    assert container["image"] == "srv:1" and container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["command"][:4] == ["python", "-m", "cogumi_workloads", "serve"]
    assert json.loads(container["env"][0]["value"])["model"]["uri"] == GGUF.uri
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/mnt/pvc/artifacts", "/mnt/pvc/adapters"}
