"""End-to-end check of the local control plane (etcd + kube-apiserver + kube-controller-manager).

Uses the binaries cached by ensure_binaries(); on a cold cache the first run builds them (needs `go`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cogumi_operator.devcluster import (
    KUBERNETES_VERSION,
    Binaries,
    ClusterError,
    ClusterInfo,
    apply_manifests,
    ensure_binaries,
    kubectl,
    start,
    status,
    stop,
)

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

THIRDPARTY = Path(__file__).resolve().parents[2] / "operator" / "cogumi_operator" / "devcluster" / "thirdparty"
KSERVE_CRD = THIRDPARTY / "serving.kserve.io_inferenceservices.yaml"


def _eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def _exists(info: ClusterInfo, *args: str) -> bool:
    try:
        kubectl(info, "get", *args, "-o", "name")
    except ClusterError as err:
        if "NotFound" in str(err):
            return False
        raise
    return True


@pytest.fixture(scope="module")
def binaries() -> Binaries:
    if shutil.which("go") is None and not Path("/usr/local/go/bin/go").exists():
        pytest.skip("`go` is needed to build the control-plane binaries")
    return ensure_binaries(print)


@pytest.fixture(scope="module")
def cluster(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterInfo]:
    state_dir = tmp_path_factory.mktemp("devcluster")
    info = start(state_dir, binaries)
    try:
        yield info
    finally:
        stop(state_dir)


def test_server_version(cluster: ClusterInfo) -> None:
    version = json.loads(kubectl(cluster, "version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == f"v{KUBERNETES_VERSION}"
    assert version["clientVersion"]["gitVersion"] == f"v{KUBERNETES_VERSION}"


def test_start_is_idempotent(cluster: ClusterInfo, binaries: Binaries) -> None:
    before = status(cluster.state_dir)
    assert before.running and before.ready
    again = start(cluster.state_dir, binaries)
    assert again == cluster
    assert status(cluster.state_dir).pids == before.pids


def test_garbage_collector_cascades_owner_references(cluster: ClusterInfo) -> None:
    kubectl(cluster, "create", "namespace", "gc-test")
    kubectl(cluster, "-n", "gc-test", "create", "configmap", "owner", "--from-literal=a=b")
    uid = kubectl(cluster, "-n", "gc-test", "get", "configmap", "owner", "-o", "jsonpath={.metadata.uid}")
    dependent = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "dependent",
            "namespace": "gc-test",
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}],
        },
        "stringData": {"x": "y"},
    }
    manifest = cluster.state_dir / "dependent.json"
    manifest.write_text(json.dumps(dependent))
    kubectl(cluster, "apply", "-f", str(manifest))
    assert _exists(cluster, "-n", "gc-test", "secret", "dependent")
    kubectl(cluster, "-n", "gc-test", "delete", "configmap", "owner", "--wait=true")
    _eventually(
        lambda: not _exists(cluster, "-n", "gc-test", "secret", "dependent"),
        60,
        "the garbage collector to delete the dependent Secret",
    )


def test_namespace_deletion_completes(cluster: ClusterInfo) -> None:
    kubectl(cluster, "create", "namespace", "doomed")
    kubectl(cluster, "-n", "doomed", "create", "configmap", "c", "--from-literal=a=b")
    kubectl(cluster, "delete", "namespace", "doomed", "--wait=false")
    _eventually(lambda: not _exists(cluster, "namespace", "doomed"), 60, "namespace doomed to be deleted")


def test_service_accounts_are_created(cluster: ClusterInfo) -> None:
    kubectl(cluster, "create", "namespace", "sa-test")
    _eventually(
        lambda: _exists(cluster, "-n", "sa-test", "serviceaccount", "default"),
        30,
        "the default ServiceAccount in sa-test",
    )


def test_kserve_crd_becomes_established(cluster: ClusterInfo) -> None:
    assert KSERVE_CRD.is_file(), KSERVE_CRD
    apply_manifests(cluster, [KSERVE_CRD])
    crd = json.loads(kubectl(cluster, "get", "crd", "inferenceservices.serving.kserve.io", "-o", "json"))
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions.get("Established") == "True"
    apply_manifests(cluster, [KSERVE_CRD])  # re-applying (server-side) is a no-op, not a conflict


def test_data_survives_restart(cluster: ClusterInfo, binaries: Binaries) -> None:
    kubectl(cluster, "create", "namespace", "persistent")
    stop(cluster.state_dir)
    stopped = status(cluster.state_dir)
    assert not stopped.running and not any(stopped.pids.values())
    restarted = start(cluster.state_dir, binaries)
    assert restarted.kubeconfig == cluster.kubeconfig
    assert _exists(restarted, "namespace", "persistent")
    assert status(cluster.state_dir).ready
