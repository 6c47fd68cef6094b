"""Start, stop and inspect a local control plane (etcd, kube-apiserver, kube-controller-manager).

Everything lives in one state dir: ``etcd/`` (data, kept across stop/start), ``pki/``,
``kubeconfig`` (admin), ``logs/<component>.log``, ``pids/<component>.pid`` and ``cluster.json``
(the loopback ports, reused on the next start while they are free).
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .build import Binaries
from .info import ClusterError, ClusterInfo
from .manifests import apply_manifests, kubectl, wait_established
from .pki import Pki, ensure_pki, write_kubeconfig
from .procs import ProcessTable, free_ports

__all__ = [
    "ClusterError",
    "ClusterInfo",
    "ClusterStatus",
    "apply_manifests",
    "kubectl",
    "start",
    "status",
    "stop",
    "wait_established",
]

ETCD, APISERVER, CONTROLLER_MANAGER = "etcd", "kube-apiserver", "kube-controller-manager"
COMPONENTS = (ETCD, APISERVER, CONTROLLER_MANAGER)
# Not the job controller (the local node is the only writer of Job status), nor replicaset/deployment.
CONTROLLERS = (
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
)
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ClusterStatus:
    state_dir: Path
    pids: dict[str, int | None]
    running: bool  # every component's recorded process is alive
    ready: bool  # running, and the API server answers /readyz
    server: str | None


@dataclass(frozen=True)
class _Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver}"


def _record_path(state_dir: Path) -> Path:
    return state_dir / "cluster.json"


def _load_ports(state_dir: Path) -> _Ports | None:
    try:
        data = json.loads(_record_path(state_dir).read_text())
        return _Ports(**data["ports"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        return None


def _save_ports(state_dir: Path, ports: _Ports) -> None:
    tmp = _record_path(state_dir).with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"ports": ports.__dict__, "server": ports.server}, indent=2) + "\n")
    tmp.replace(_record_path(state_dir))


@contextlib.contextmanager
def _state_lock(state_dir: Path) -> Iterator[None]:
    """Serialise start/stop on one state dir across processes."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / ".lock").open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _tls_context(pki: Pki) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    ctx.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    return ctx


def _http_ok(url: str, ctx: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return False


def _api_ready(ports: _Ports, ctx: ssl.SSLContext) -> bool:
    return _http_ok(f"{ports.server}/readyz", ctx) and _http_ok(f"{ports.server}/api/v1/namespaces/default", ctx)


def _wait(table: ProcessTable, component: str, check: Callable[[], bool], deadline: float) -> None:
    while True:
        if table.pid(component) is None:
            raise ClusterError(
                f"{component} exited during startup; last lines of {table.log_file(component)}:\n"
                f"{table.log_tail(component)}"
            )
        if check():
            return
        if time.monotonic() > deadline:
            raise ClusterError(
                f"{component} was not ready within {START_TIMEOUT_S:.0f}s; last lines of "
                f"{table.log_file(component)}:\n{table.log_tail(component)}"
            )
        time.sleep(0.1)


def _etcd_argv(binaries: Binaries, state_dir: Path, ports: _Ports) -> list[str]:
    client, peer = f"http://127.0.0.1:{ports.etcd_client}", f"http://127.0.0.1:{ports.etcd_peer}"
    return [
        str(binaries.etcd),
        "--name=cogumi-dev",
        f"--data-dir={state_dir / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=cogumi-dev={peer}",
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]


def _apiserver_argv(binaries: Binaries, pki: Pki, ports: _Ports) -> list[str]:
    return [
        str(binaries.kube_apiserver),
        f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={ports.apiserver}",
        "--endpoint-reconciler-type=none",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--cert-dir={pki.directory}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        f"--service-account-key-file={pki.service_account_pub}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
    ]


def _controller_manager_argv(binaries: Binaries, pki: Pki, ports: _Ports, kubeconfig: Path) -> list[str]:
    return [
        str(binaries.kube_controller_manager),
        # No --authentication/authorization-kubeconfig: the API server has no request-header CA, and without
        # them the controller manager still serves /healthz (the only endpoint used here) to anyone.
        f"--kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.controller_manager}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--controllers={','.join(CONTROLLERS)}",
        f"--service-account-private-key-file={pki.service_account_key}",
        f"--root-ca-file={pki.ca_cert}",
        "--use-service-account-credentials=false",
        "--leader-elect=false",
    ]


def _info(state_dir: Path, ports: _Ports, binaries: Binaries) -> ClusterInfo:
    return ClusterInfo(
        kubeconfig=state_dir / "kubeconfig", server=ports.server, kubectl=binaries.kubectl, state_dir=state_dir
    )


def _stop_all(table: ProcessTable, timeout: float) -> None:
    for component in reversed(COMPONENTS):
        table.stop(component, timeout)


def start(state_dir: Path, binaries: Binaries) -> ClusterInfo:
    """Start the control plane in ``state_dir`` (or return the one already running there)."""
    state_dir = state_dir.expanduser().resolve()
    with _state_lock(state_dir):
        table = ProcessTable(state_dir)
        pki = ensure_pki(state_dir)
        ctx = _tls_context(pki)
        recorded = _load_ports(state_dir)
        if recorded is not None and all(table.pid(c) for c in COMPONENTS) and _api_ready(recorded, ctx):
            return _info(state_dir, recorded, binaries)
        _stop_all(table, STOP_TIMEOUT_S)  # leftovers of a partial or crashed start

        preferred = list(recorded.__dict__.values()) if recorded else []
        ports = _Ports(*free_ports(4, preferred))
        _save_ports(state_dir, ports)
        info = _info(state_dir, ports, binaries)
        write_kubeconfig(info.kubeconfig, ports.server, pki, "admin", pki.admin_cert, pki.admin_key)
        kcm_kubeconfig = pki.directory / "kube-controller-manager.kubeconfig"
        write_kubeconfig(
            kcm_kubeconfig,
            ports.server,
            pki,
            "system:kube-controller-manager",
            pki.controller_manager_cert,
            pki.controller_manager_key,
        )
        (state_dir / "etcd").mkdir(mode=0o700, exist_ok=True)

        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            table.spawn(ETCD, _etcd_argv(binaries, state_dir, ports), cwd=state_dir)
            _wait(table, ETCD, lambda: _http_ok(f"http://127.0.0.1:{ports.etcd_client}/health"), deadline)
            table.spawn(APISERVER, _apiserver_argv(binaries, pki, ports), cwd=state_dir)
            _wait(table, APISERVER, lambda: _api_ready(ports, ctx), deadline)
            table.spawn(
                CONTROLLER_MANAGER, _controller_manager_argv(binaries, pki, ports, kcm_kubeconfig), cwd=state_dir
            )
            kcm_health = f"https://127.0.0.1:{ports.controller_manager}/healthz"
            _wait(table, CONTROLLER_MANAGER, lambda: _http_ok(kcm_health, ctx), deadline)
        except BaseException:
            _stop_all(table, STOP_TIMEOUT_S)
            raise
        return info


def stop(state_dir: Path, timeout: float = STOP_TIMEOUT_S) -> None:
    """Stop the components (SIGTERM, then SIGKILL after ``timeout``); all data on disk is kept."""
    state_dir = state_dir.expanduser().resolve()
    if not state_dir.is_dir():
        return
    with _state_lock(state_dir):
        _stop_all(ProcessTable(state_dir), timeout)


def status(state_dir: Path) -> ClusterStatus:
    state_dir = state_dir.expanduser().resolve()
    table = ProcessTable(state_dir)
    pids = {c: table.pid(c) for c in COMPONENTS}
    running = all(pids.values())
    ports = _load_ports(state_dir)
    ready = False
    if running and ports is not None:
        ready = _api_ready(ports, _tls_context(Pki(state_dir / "pki")))
    return ClusterStatus(
        state_dir=state_dir, pids=pids, running=running, ready=ready, server=ports.server if ports else None
    )
