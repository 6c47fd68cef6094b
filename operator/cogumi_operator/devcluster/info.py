"""Types shared by the cluster lifecycle and the kubectl helpers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class ClusterError(RuntimeError):
    """The control plane failed to start or a kubectl call failed; the message carries log output."""


@dataclass(frozen=True)
class ClusterInfo:
    kubeconfig: Path
    server: str
    kubectl: Path
    state_dir: Path
