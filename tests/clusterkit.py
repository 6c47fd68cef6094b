"""Helpers for tests against the local control plane (importable: tests/ is on pythonpath)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cogumi_api.meta import GROUP, VERSION
from cogumi_api.registry import BY_KIND
from cogumi_operator import devenv
from cogumi_operator.devcluster import ClusterInfo, kubectl


class Kube:
    """Small helpers over the real API for tests."""

    def __init__(self, info: ClusterInfo, namespace: str) -> None:
        self.info, self.ns = info, namespace
        self.custom, self.batch = client.CustomObjectsApi(), client.BatchV1Api()

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        if stdin is None:
            return kubectl(self.info, "-n", self.ns, *args)
        path = Path(self.info.state_dir) / f"stdin-{uuid.uuid4().hex}.yaml"
        path.write_text(stdin)
        try:
            return kubectl(self.info, "-n", self.ns, *args, "-f", str(path))
        finally:
            path.unlink()

    def create(self, doc: dict[str, Any]) -> dict[str, Any]:
        plural = BY_KIND[doc["kind"]].plural
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, self.ns, plural, doc)

    def get(self, plural: str, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.ns, plural, name)

    def jobs(self) -> list[str]:
        return sorted(j.metadata.name for j in self.batch.list_namespaced_job(self.ns).items)

    def results(self) -> list[str]:
        items = self.custom.list_namespaced_custom_object(GROUP, VERSION, self.ns, "stageresults")["items"]
        return sorted(i["metadata"]["name"] for i in items)

    def wait_phase(self, plural: str, name: str, phases: tuple[str, ...], timeout: float = 120) -> dict[str, Any]:
        obj = eventually(lambda: (o := self.get(plural, name)).get("status", {}).get("phase") in phases and o,
                         timeout, f"{plural}/{name} to reach {phases}")
        return obj


def eventually(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except ApiException as err:
            if err.status != 404:
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.3)


def sample(name: str) -> dict[str, Any]:
    return yaml.safe_load((devenv.REPO_CRDS / "examples" / name).read_text())
