"""`cogumi dev up/down`: the local control plane plus the operator and the local node."""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from cogumi_operator.devcluster import cluster
from cogumi_operator.devcluster.build import ensure_binaries
from cogumi_operator.devcluster.procs import ProcessTable, free_ports
from cogumi_operator.settings import cache_dir

REPO_CRDS = Path(__file__).resolve().parents[2] / "crds"
KSERVE_CRD = Path(__file__).resolve().parent / "devcluster" / "thirdparty" / "serving.kserve.io_inferenceservices.yaml"


def default_state_dir() -> Path:
    return Path(os.environ.get("COGUMI_DEV_STATE") or cache_dir() / "dev")


def crd_files() -> list[Path]:
    """Our CRDs (as generated into the repository, or from the package when installed elsewhere)."""
    ours = sorted(REPO_CRDS.glob("cogumi.ai_*.yaml"))
    if not ours:
        raise FileNotFoundError(f"no CRDs under {REPO_CRDS}; run `cogumi crds generate`")
    return [*ours, KSERVE_CRD]


def _wait_http(url: str, what: str, deadline_s: float, log_tail: Callable[[], str]) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{what} did not become ready at {url} within {deadline_s:.0f}s:\n{log_tail()}")


def up(state_dir: Path, progress: Callable[[str], None], node: bool = True) -> cluster.ClusterInfo:
    """Start (or reuse) everything; `node=False` leaves Jobs unexecuted (operator benchmarks)."""
    binaries = ensure_binaries(progress)
    progress("starting etcd, kube-apiserver and kube-controller-manager")
    info = cluster.start(state_dir, binaries)
    progress("installing CRDs (cogumi.ai and KServe InferenceService)")
    cluster.apply_manifests(info, crd_files())
    procs = ProcessTable(state_dir)
    env_note = {"KUBECONFIG": str(info.kubeconfig)}
    os.environ.update(env_note)
    if node and procs.pid("node") is None:
        procs.spawn("node", [sys.executable, "-m", "cogumi_operator.cli", "node", "--state-dir", str(state_dir)],
                    cwd=state_dir)
    if procs.pid("operator") is None:
        health, metrics = free_ports(2)
        (state_dir / "operator.ports").write_text(f"{health} {metrics}\n")
        os.environ["COGUMI_METRICS_PORT"] = str(metrics)
        os.environ.setdefault("COGUMI_ARTIFACT_ROOT", (state_dir / "artifacts").as_uri())
        procs.spawn("operator", [sys.executable, "-m", "kopf", "run", "--all-namespaces", "--standalone",
                                 "--log-format=json",
                                 f"--liveness=http://127.0.0.1:{health}/healthz", "-m", "cogumi_operator.handlers"],
                    cwd=state_dir)
    health = int((state_dir / "operator.ports").read_text().split()[0])
    _wait_http(f"http://127.0.0.1:{health}/healthz", "the operator", 90, lambda: procs.log_tail("operator"))
    return info


def down(state_dir: Path) -> None:
    procs = ProcessTable(state_dir)
    procs.stop("operator", timeout=10)
    procs.stop("node", timeout=15)
    cluster.stop(state_dir)
