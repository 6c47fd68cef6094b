"""`helm install` into the local control plane (no --wait: no kubelet runs pods here; the charts have no
hooks): the operator chart in namespaced mode, and every preset in its own namespace, accepted by the
API server with our CRDs' validation."""

from __future__ import annotations

import json

import pytest
from deliverykit import PLAN, PRESETS, SYSTEM_CHART, helm

from cogumi_operator.devcluster import ClusterInfo, kubectl

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def _names(cluster: ClusterInfo, ns: str, kinds: str) -> set[str]:
    out = kubectl(cluster, "-n", ns, "get", kinds, "-o", "name")
    return set(out.split())


def test_the_operator_chart_installs_namespaced(cluster: ClusterInfo, operator_release):
    ns = operator_release.namespace
    status = json.loads(helm("status", operator_release.name, "-n", ns, "-o", "json", cluster=cluster).stdout)
    assert status["info"]["status"] == "deployed"
    assert _names(cluster, ns, "deployment,service,serviceaccount,role,rolebinding,configmap") >= {
        "deployment.apps/cogumi-operator", "service/cogumi-operator-metrics",
        "serviceaccount/cogumi-operator", "serviceaccount/cogumi-workload",
        "role.rbac.authorization.k8s.io/cogumi-operator", "role.rbac.authorization.k8s.io/cogumi-workload",
        "rolebinding.rbac.authorization.k8s.io/cogumi-operator",
        "rolebinding.rbac.authorization.k8s.io/cogumi-workload", "configmap/cogumi-operator-dashboard"}
    # Namespaced mode: nothing cluster-scoped besides the CRDs.
    cluster_roles = kubectl(cluster, "get", "clusterroles,clusterrolebindings", "-l",
                            f"app.kubernetes.io/instance={operator_release.name}", "-o", "name").split()
    assert cluster_roles == []
    # The API server stored the Deployment as rendered: non-root, read-only, kopf's probe.
    deploy = json.loads(kubectl(cluster, "-n", ns, "get", "deployment", "cogumi-operator", "-o", "json"))
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert f"--namespace={ns}" in container["args"]


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_installs_a_model_deployment_the_api_server_accepts(cluster: ClusterInfo, ns: str,
                                                                         preset: str):
    helm("install", "assistant", str(SYSTEM_CHART), "-n", ns, "-f", str(SYSTEM_CHART / "presets" / f"{preset}.yaml"),
         cluster=cluster)
    md = json.loads(kubectl(cluster, "-n", ns, "get", "modeldeployment", "assistant", "-o", "json"))
    mode, modifiers, critique = PLAN[preset]
    spec = md["spec"]
    assert (spec["mode"], sorted(m["domain"] for m in spec["modifiers"]), spec["selfCritique"]) == (
        mode, sorted(modifiers), critique)
    assert md["metadata"]["labels"]["cogumi.ai/preset"] == preset
    # Defaults filled in by the API server from our CRD's schema: it processed the object with our CRD.
    assert all(m["adapter"]["format"] == "gguf" for m in spec["modifiers"])  # rendered: the model's format
    assert spec["router"]["format"] == "hf" and spec["model"]["format"] == "gguf"
    helm("uninstall", "assistant", "-n", ns, cluster=cluster)


def test_a_value_the_chart_schema_allows_but_our_crd_forbids_fails_the_install(cluster: ClusterInfo, ns: str):
    proc = helm("install", "bad", str(SYSTEM_CHART), "-n", ns, "--set", "replicas.min=3", "--set", "replicas.max=1",
                cluster=cluster, check=False)
    assert proc.returncode != 0
    assert "replicas.min must not exceed replicas.max" in proc.stderr  # the CRD's CEL rule, from the API server
