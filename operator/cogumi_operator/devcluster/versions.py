"""Pinned versions of the local control plane and where their binaries are cached."""

from __future__ import annotations

import os
from pathlib import Path

KUBERNETES_VERSION = "1.34.4"
ETCD_VERSION = "3.6.16"
HELM_VERSION = "3.21.4"

# Kubernetes' published staging modules (k8s.io/api, k8s.io/client-go, ...) carry v0.X.Y for v1.X.Y.
KUBERNETES_STAGING_VERSION = "0." + KUBERNETES_VERSION.split(".", 1)[1]


def cache_root() -> Path:
    """``${COGUMI_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/cogumi}``."""
    explicit = os.environ.get("COGUMI_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cogumi"


def bin_root() -> Path:
    return cache_root() / "bin"


def kubernetes_bin_dir() -> Path:
    return bin_root() / f"k8s-{KUBERNETES_VERSION}"


def etcd_bin_dir() -> Path:
    return bin_root() / f"etcd-{ETCD_VERSION}"


def helm_bin_dir() -> Path:
    return bin_root() / f"helm-{HELM_VERSION}"


def work_root() -> Path:
    """Scratch space for Go builds; on the same filesystem as the binaries so renames are atomic."""
    return cache_root() / "work"
