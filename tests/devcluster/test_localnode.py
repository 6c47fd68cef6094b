"""The local node's status writes, against a recording fake of the Batch API (no cluster)."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from cogumi_operator import localnode


class RecordingBatch:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    def patch_namespaced_job_status(self, name: str, ns: str, body: dict[str, Any]) -> None:
        self.patches.append(body["status"])


class SlowClock(datetime):
    """`datetime.now` a second later on every call: launches that straddle a second boundary."""

    ticks = 0

    @classmethod
    def now(cls, tz: Any = None) -> SlowClock:  # type: ignore[override]
        cls.ticks += 1
        return cls(2026, 1, 1, 10, 0, 0, 500_000, tzinfo=UTC) + timedelta(seconds=cls.ticks)


def _job() -> client.V1Job:
    container = client.V1Container(name="stage", image="x", command=[sys.executable, "-c", "pass"])
    return client.V1Job(metadata=client.V1ObjectMeta(name="j", namespace="ns", uid="u1"),
                        spec=client.V1JobSpec(template=client.V1PodTemplateSpec(
                            spec=client.V1PodSpec(containers=[container], restart_policy="Never"))),
                        status=client.V1JobStatus())


def test_the_final_status_repeats_the_start_time_written_at_launch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(localnode, "datetime", SlowClock)
    batch = RecordingBatch()
    node = localnode.LocalNode(tmp_path, batch)  # type: ignore[arg-type]
    node._launch(_job())
    run = node.running["u1"]
    deadline = time.monotonic() + 60
    while run.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    node._finish(run.namespace, run.name, run.started.strftime("%Y-%m-%dT%H:%M:%SZ"), True, "Done", "exited 0")
    launched, finished = batch.patches
    assert launched["startTime"] == finished["startTime"]  # the API server refuses a changed startTime
    assert finished["succeeded"] == 1 and finished["completionTime"] >= finished["startTime"]
