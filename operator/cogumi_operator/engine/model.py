"""Inputs and outputs of the engine."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from cogumi_api.meta import Status
from cogumi_api.stage import StageInvocation, StageReport
from cogumi_operator.engine.refs import Referenced

JobState = Literal["Active", "Succeeded", "Failed"]


@dataclass(frozen=True)
class Resource:
    """A stored resource, its spec validated by the kind's model."""

    kind: str
    name: str
    namespace: str
    uid: str
    generation: int
    spec: BaseModel
    status: Status
    raw_spec: dict[str, Any]
    """The spec as stored (by alias), passed to stages as their params."""


@dataclass(frozen=True)
class JobView:
    """What the engine needs to know of one stage Job (or local process)."""

    name: str
    state: JobState
    message: str = ""
    start_time: datetime | None = None
    completion_time: datetime | None = None


@dataclass
class Observed:
    jobs: dict[str, JobView] = field(default_factory=dict)
    """Stage Jobs of this resource by name."""
    results: dict[str, StageReport] = field(default_factory=dict)
    """Reported results by Job name."""
    references: dict[str, Referenced] = field(default_factory=dict)
    """Resources of the same namespace this one references, by `Kind/name`."""


@dataclass(frozen=True)
class JobRequest:
    name: str
    stage: str
    stage_id: str
    run: int
    attempt: int
    gpu: bool
    invocation: StageInvocation


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass
class Actions:
    status: Status
    create: list[JobRequest] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None
    """Seconds until something is due (a retry backoff); None when only a change can move it."""

    @property
    def terminal(self) -> bool:
        return self.status.phase in ("Succeeded", "Failed", "GateFailed")


_DNS = re.compile(r"[^a-z0-9-]")


def job_name(resource: str, stage: str, run: int, attempt: int) -> str:
    """Deterministic Job name (≤ 63 characters, a DNS label)."""
    suffix = f"{stage}-{attempt}" if run <= 1 else f"r{run}-{stage}-{attempt}"
    name = _DNS.sub("-", f"{resource}-{suffix}".lower())
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    keep = 63 - len(suffix) - len(digest) - 2
    return f"{resource[:keep].rstrip('-')}-{digest}-{suffix}"
