"""The local node serves InferenceServices as local processes and writes their readiness.

The predictor here is a minimal HTTP process (python's http.server), because the test is about
the node's serving mechanism; the real server is exercised in tests/serve."""

from __future__ import annotations

import urllib.request

import pytest
from clusterkit import Kube, eventually

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

PREDICTOR = ("import http.server, sys\n"
             "port = int(sys.argv[sys.argv.index('--port') + 1])\n"
             "http.server.ThreadingHTTPServer(('127.0.0.1', port), http.server.SimpleHTTPRequestHandler)"
             ".serve_forever()\n")


def _isvc(kube: Kube) -> dict:
    return kube.custom.get_namespaced_custom_object("serving.kserve.io", "v1beta1", kube.ns, "inferenceservices", "web")


def test_inference_service_is_served_locally_and_stopped_on_delete(kube: Kube):
    body = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "web", "labels": {"app.kubernetes.io/managed-by": "cogumi"}},
            "spec": {"predictor": {"containers": [{
                "name": "kserve-container", "image": "unused", "command": ["python", "-c", PREDICTOR, "--port", "8080"],
                "readinessProbe": {"httpGet": {"path": "/", "port": 8080}}}]}}}
    kube.custom.create_namespaced_custom_object("serving.kserve.io", "v1beta1", kube.ns, "inferenceservices", body)
    status = eventually(lambda: (s := _isvc(kube).get("status", {})).get("url") and s, 60, "a served URL")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and status["url"].startswith("http://127.0.0.1:")
    with urllib.request.urlopen(status["url"] + "/", timeout=5) as resp:
        assert resp.status == 200
    kube.custom.delete_namespaced_custom_object("serving.kserve.io", "v1beta1", kube.ns, "inferenceservices", "web")

    def stopped() -> bool:
        try:
            urllib.request.urlopen(status["url"] + "/", timeout=1)
        except OSError:
            return True
        return False

    eventually(stopped, 30, "the predictor process to stop")
