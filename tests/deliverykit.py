"""Helpers for the delivery tests: the charts, real helm, kubectl as someone else (importable: tests/ is on
pythonpath)."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from cogumi_operator.devcluster import KUBERNETES_VERSION, ClusterInfo, ensure_binaries

REPO = Path(__file__).resolve().parents[1]
CHARTS = REPO / "charts"
OPERATOR_CHART = CHARTS / "cogumi-operator"
SYSTEM_CHART = CHARTS / "cogumi-system"
ARGOCD = CHARTS / "argocd"
IMAGES = REPO / "images"
DATA = Path(__file__).resolve().parent / "delivery" / "data"
PRESETS = ("fast", "mvp-standard", "developer-pro", "academic", "professional", "complete")
# The plan's "Deployment Configurations" table: mode, modifiers loaded and whether self-critique is on.
PLAN = {
    "fast": ("fast", [], False),
    "mvp-standard": ("accurate", ["code", "reasoning", "automation"], False),
    "developer-pro": ("accurate", ["code", "math", "hard-math", "reasoning"], False),
    "academic": ("accurate", ["code", "math", "hard-math", "reasoning", "science"], False),
    "professional": ("accurate", ["code", "reasoning", "finance", "automation"], True),
    "complete": ("accurate", ["code", "reasoning", "automation", "math", "hard-math", "science", "finance",
                              "creative"], True),
}


@cache
def helm_binary() -> Path:
    return ensure_binaries().helm


def helm(*args: str, cluster: ClusterInfo | None = None, check: bool = True,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run helm; against ``cluster`` when given. With ``check``, a failure raises with helm's stderr."""
    cmd = [str(helm_binary()), *args]
    if cluster is not None:
        cmd.append(f"--kubeconfig={cluster.kubeconfig}")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stderr}{proc.stdout}")
    return proc


def template(chart: Path, *args: str, release: str = "t", namespace: str = "cogumi",
             check: bool = True) -> subprocess.CompletedProcess[str]:
    return helm("template", release, str(chart), "--namespace", namespace,
                f"--kube-version={KUBERNETES_VERSION}", *args, check=check)


def render(chart: Path, *args: str, release: str = "t", namespace: str = "cogumi") -> list[dict[str, Any]]:
    """`helm template` parsed into objects (empty documents dropped)."""
    out = template(chart, *args, release=release, namespace=namespace).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def only(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {[d['metadata']['name'] for d in found]}"
    return found[0]


def can_i(cluster: ClusterInfo, user: str, verb: str, resource: str, namespace: str | None) -> bool:
    """`kubectl auth can-i VERB RESOURCE --as USER` against the real API server (RBAC authorizer)."""
    cmd = [str(cluster.kubectl), f"--kubeconfig={cluster.kubeconfig}", "auth", "can-i", verb, resource,
           f"--as={user}"]
    cmd += [f"--namespace={namespace}"] if namespace else ["--all-namespaces"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    answer = proc.stdout.strip()
    assert answer in ("yes", "no"), f"`{' '.join(cmd)}` answered {answer!r}: {proc.stderr}"
    return answer == "yes"
