"""Fixtures of the delivery tests. The session control plane and the per-test namespace come from
tests/conftest.py; here: the operator chart installed once (namespaced mode) for the cluster tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from deliverykit import OPERATOR_CHART, helm
from kubernetes import client

from cogumi_operator.devcluster import ClusterInfo


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    operator_sa: str
    workload_sa: str


@pytest.fixture(scope="session")
def operator_release(cluster: ClusterInfo) -> Iterator[Release]:
    """`helm install` of the operator chart (namespaced mode, defaults) into a fresh namespace.

    No --wait (no kubelet runs pods here) and no hooks (the chart has none). The CRDs of the chart's crds/
    folder exist already (the control plane installs the same files), so helm leaves them alone.
    """
    ns = f"cogumi-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api().create_namespace({"metadata": {"name": ns}})
    name = "cogumi-operator"
    helm("install", name, str(OPERATOR_CHART), "--namespace", ns, cluster=cluster)
    yield Release(name=name, namespace=ns, operator_sa="cogumi-operator", workload_sa="cogumi-workload")
    helm("uninstall", name, "--namespace", ns, cluster=cluster, check=False)
    client.CoreV1Api().delete_namespace(ns)
