"""A ModelDeployment reconciled into a KServe InferenceService, validated by the real KServe CRD."""

from __future__ import annotations

import pytest
from clusterkit import Kube, eventually

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def _isvc(kube: Kube, name: str) -> dict:
    return kube.custom.get_namespaced_custom_object("serving.kserve.io", "v1beta1", kube.ns, "inferenceservices", name)


def test_deployment_becomes_an_inference_service_and_suspend_removes_it(kube: Kube):
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "ModelDeployment", "metadata": {"name": "md"},
                 "spec": {"model": {"uri": "pvc://models/smollm2.gguf", "format": "gguf"}, "mode": "accurate",
                          "replicas": {"min": 0, "max": 3}}})
    isvc = eventually(lambda: _isvc(kube, "md"), 60, "the InferenceService")
    predictor = isvc["spec"]["predictor"]
    assert predictor["minReplicas"] == 0 and predictor["maxReplicas"] == 3
    assert predictor["volumes"][0]["persistentVolumeClaim"]["claimName"] == "models"
    assert isvc["metadata"]["ownerReferences"][0]["kind"] == "ModelDeployment"
    status = eventually(lambda: kube.get("modeldeployments", "md").get("status"), 30, "a status")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert status["phase"] == "Pending" and ready["reason"] == "InferenceServiceNotReady"
    kube.custom.patch_namespaced_custom_object("cogumi.ai", "v1alpha1", kube.ns, "modeldeployments", "md",
                                               {"spec": {"suspend": True}})
    kube.wait_phase("modeldeployments", "md", ("Suspended",), timeout=60)
    eventually(lambda: not kube.custom.list_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", kube.ns, "inferenceservices")["items"], 30, "the InferenceService to go")


def test_deployment_waits_for_its_referenced_model(kube: Kube):
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "ModelDeployment", "metadata": {"name": "later"},
                 "spec": {"model": {"fromResource": "CompressionRun/absent"}}})
    status = eventually(lambda: kube.get("modeldeployments", "later").get("status"), 30, "a status")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "WaitingForInputs" and "CompressionRun/absent (not found)" in ready["message"]
