"""A local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) built from Go modules."""

from .build import Binaries, BuildError, ensure_binaries
from .cluster import ClusterError, ClusterInfo, ClusterStatus, start, status, stop
from .manifests import apply_manifests, kubectl, wait_established
from .versions import ETCD_VERSION, HELM_VERSION, KUBERNETES_VERSION, cache_root

__all__ = [
    "ETCD_VERSION",
    "HELM_VERSION",
    "KUBERNETES_VERSION",
    "Binaries",
    "BuildError",
    "ClusterError",
    "ClusterInfo",
    "ClusterStatus",
    "apply_manifests",
    "cache_root",
    "ensure_binaries",
    "kubectl",
    "start",
    "status",
    "stop",
    "wait_established",
]
