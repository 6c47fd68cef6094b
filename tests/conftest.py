"""Fixtures shared by every test folder: one local control plane (etcd + kube-apiserver +
kube-controller-manager + operator + local node) for the whole session, started only when a test asks
for it (tests/integration, tests/delivery), and a fresh namespace per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from clusterkit import Kube
from kubernetes import client, config

from cogumi_operator import devenv
from cogumi_operator.devcluster import ClusterInfo


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterInfo]:
    state = tmp_path_factory.mktemp("dev")
    os.environ["COGUMI_RECONCILE_INTERVAL"] = "0.5"
    info = devenv.up(state, print)
    config.load_kube_config(str(info.kubeconfig))
    yield info
    devenv.down(state)


@pytest.fixture
def ns(cluster: ClusterInfo) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api().create_namespace({"metadata": {"name": name}})
    yield name
    client.CoreV1Api().delete_namespace(name)


@pytest.fixture
def kube(cluster: ClusterInfo, ns: str) -> Kube:
    return Kube(cluster, ns)
