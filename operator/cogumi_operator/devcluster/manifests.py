"""kubectl helpers for a running local control plane: run commands, apply manifests, wait for CRDs."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from .info import ClusterError, ClusterInfo

_MAX_ERROR_CHARS = 4000


def kubectl(info: ClusterInfo, *args: str, timeout: float = 120.0) -> str:
    """Run kubectl against the cluster; returns stdout, raises ClusterError with stderr on failure."""
    cmd = [str(info.kubectl), f"--kubeconfig={info.kubeconfig}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        stderr = proc.stderr.strip()
        if len(stderr) > _MAX_ERROR_CHARS:
            stderr = stderr[:_MAX_ERROR_CHARS] + " ... (truncated)"
        raise ClusterError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}:\n{stderr}")
    return proc.stdout


def apply_manifests(info: ClusterInfo, paths: list[Path]) -> None:
    """Server-side apply the manifests (files or directories), then wait for any CRDs to be Established."""
    if not paths:
        return
    files = [arg for path in paths for arg in ("-f", str(path))]
    out = kubectl(info, "apply", "--server-side", "--force-conflicts", "--field-manager=cogumi", "-o", "name", *files)
    crds = [
        line.strip()
        for line in out.splitlines()
        if line.strip().startswith("customresourcedefinition.apiextensions.k8s.io/")
    ]
    if crds:
        wait_established(info, crds)


def _established(info: ClusterInfo, crd: str) -> bool:
    # Only the conditions, not the whole object: large CRDs (KServe's is ~2 MB) would otherwise keep kubectl
    # busy decoding and printing, competing for CPU with the API server that is establishing them. A filter
    # expression such as [?(@.type=="Established")] fails outright while a fresh CRD has no conditions yet.
    raw = kubectl(info, "get", crd, "-o", "jsonpath={.status.conditions}").strip()
    conditions = (json.loads(raw) if raw else None) or []  # absent or null right after creation
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _pending_crds(info: ClusterInfo, crds: list[str]) -> list[str]:
    return [crd for crd in crds if not _established(info, crd)]


def wait_established(info: ClusterInfo, crds: list[str], timeout: float = 60.0) -> None:
    """Poll until every CRD (``customresourcedefinition.apiextensions.k8s.io/<name>``) is Established.

    Polls instead of ``kubectl wait``, which fails outright while a fresh CRD has no conditions yet.
    """
    deadline = time.monotonic() + timeout
    while pending := _pending_crds(info, crds):
        if time.monotonic() > deadline:
            raise ClusterError(f"CRDs not Established after {timeout:.0f}s: {', '.join(pending)}")
        time.sleep(0.5)
