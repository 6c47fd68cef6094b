"""An Evaluation of a ModelDeployment reconciled by the operator on the local control plane: it waits (never
fails) while the deployment is missing, runs once the deployment is Ready (the local node serves it with the
project's server), evaluates through the deployment's URL and ends with its gates on status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clusterkit import Kube, eventually
from kubernetes.client.exceptions import ApiException

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny_llama() -> str:
    pytest.importorskip("transformers", reason="the ml extra is not installed")
    from cogumi_workloads.assets.models import resolve

    return resolve("tiny-llama").as_uri()


def _ready(obj: dict) -> dict:
    return next(c for c in obj.get("status", {}).get("conditions", []) if c["type"] == "Ready")


def test_evaluation_waits_for_its_deployment_then_gates_it_through_the_api(kube: Kube, tiny_llama: str):
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "Evaluation", "metadata": {"name": "ev"}, "spec": {
        "deployment": "assistant", "baseline": {"uri": tiny_llama},
        "speed": {"maxNewTokens": 8, "minTokensPerSecond": 0.01},
        "tasks": [{"name": "math", "suite": "math", "limit": 2, "maxNewTokens": 8, "minAccuracy": 0.0},
                  {"name": "creative", "suite": "creative", "limit": 2, "maxNewTokens": 8}]}})
    waiting = eventually(lambda: (o := kube.get("evaluations", "ev")).get("status") and _ready(o), 30, "a status")
    assert waiting["reason"] == "WaitingForInputs"
    assert waiting["message"] == "waiting for ModelDeployment/assistant (not found; create it in this namespace)"
    assert kube.get("evaluations", "ev")["status"]["phase"] == "Pending" and kube.jobs() == []

    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "ModelDeployment", "metadata": {"name": "assistant"},
                 "spec": {"model": {"uri": tiny_llama}, "memory": {"enabled": False}, "ui": False}})
    obj = kube.wait_phase("evaluations", "ev", ("Succeeded", "Failed", "GateFailed"), timeout=900)
    status = obj["status"]
    assert status["phase"] == "Succeeded", status
    url = kube.get("modeldeployments", "assistant")["status"]["extra"]["url"]
    suites, speed = status["stages"]
    assert (suites["name"], speed["name"]) == ("suites", "speed")
    assert suites["metrics"]["math.n"] == 2 and suites["metrics"]["creative.baseline"] >= 0
    report = json.loads(Path(suites["artifacts"]["report"]["uri"].removeprefix("file://")).read_text())
    assert report["target"] == f"ModelDeployment/assistant at {url}"
    gates = {g["metric"]: g for g in status["gates"]}
    assert set(gates) == {"suites.math.passed", "suites.creative.passed", "speed.tokensPerSecond"}
    assert all(g["passed"] for g in gates.values()) and status["gatesSummary"] == "3/3"
    assert gates["speed.tokensPerSecond"]["value"] == speed["metrics"]["tokensPerSecond"] > 0.01
    assert _ready(obj)["reason"] == "Succeeded" and kube.jobs() == ["ev-speed-1", "ev-suites-1"]


@pytest.mark.parametrize(("spec", "message"), [
    ({"deployment": "a", "model": {"uri": "file:///m"}, "tasks": [{"name": "t", "suite": "math", "minAccuracy": 0}]},
     "set exactly one of model or deployment"),
    ({"deployment": "a", "tasks": [{"name": "t", "suite": "math"}]}, "set spec.baseline, or minAccuracy"),
    ({"deployment": "a", "tasks": [{"name": "t", "suite": "math", "minAccuracy": 0},
                                   {"name": "t", "suite": "code", "minAccuracy": 0}]}, "task names must be unique"),
    ({"deployment": "a", "tasks": [{"name": "t", "lmEvalTask": "cogumi_math", "minAccuracy": 0}]},
     "for a deployment use suite"),
])
def test_the_api_server_refuses_an_inconsistent_evaluation(kube: Kube, spec: dict, message: str):
    with pytest.raises(ApiException) as err:
        kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "Evaluation", "metadata": {"name": "bad"},
                     "spec": spec})
    assert err.value.status == 422 and message in err.value.body
