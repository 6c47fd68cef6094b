"""The ModelDeployment kind: references resolved into one KServe InferenceService. Pure.

Phases: Pending while inputs or the InferenceService are not ready, Running while it serves
(Ready=True, the URL on status), Failed on a broken reference, Suspended when `suspend` is set
(the InferenceService is then deleted; nothing is lost, it comes back when resumed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cogumi_api.meta import Status
from cogumi_operator.engine import conditions, refs
from cogumi_operator.engine.model import Event, Resource
from cogumi_operator.engine.reconcile import spec_hash


@dataclass(frozen=True)
class ServiceView:
    """What the operator knows of the InferenceService it owns."""

    spec_hash: str | None
    ready: bool
    url: str | None
    message: str = ""


@dataclass
class DeploymentActions:
    status: Status
    apply: dict[str, Any] | None = None
    """Desired server configuration (the resolved spec) when the InferenceService must be written."""
    delete: bool = False
    events: list[Event] = field(default_factory=list)


def step(res: Resource, service: ServiceView | None, known: dict[str, refs.Referenced],
         now: datetime) -> DeploymentActions:
    status = res.status.model_copy(deep=True)
    acts = DeploymentActions(status=status)
    status.observed_generation = res.generation
    status.stage = "serving"
    digest = spec_hash(res.raw_spec)
    resolved, waiting, broken = refs.resolve(refs.find(res.raw_spec), known)
    if res.spec.suspend:  # type: ignore[attr-defined]
        status.phase, reason, message = "Suspended", "Suspended", "suspended: the InferenceService is removed"
        acts.delete = service is not None
    elif broken:
        status.phase, reason, message = "Failed", "InvalidReference", "; ".join(broken)
    elif waiting:
        status.phase, reason, message = "Pending", "WaitingForInputs", "waiting for " + ", ".join(waiting)
    else:
        config = refs.substitute(res.raw_spec, resolved)
        status.artifacts = {path: art for path, art in resolved.items()}
        if service is None or service.spec_hash != digest:
            acts.apply = config
            acts.events.append(Event("Normal", "InferenceServiceApplied",
                                     f"InferenceService {res.name} {'created' if service is None else 'updated'}"))
        if service is not None and service.ready and service.spec_hash == digest:
            status.phase, reason, message = "Running", "Serving", f"serving at {service.url}"
        else:
            status.phase, reason = "Pending", "InferenceServiceNotReady"
            message = (service.message if service else "") or "waiting for the InferenceService to be ready"
    status.extra = {"url": service.url} if service is not None and service.url else {}
    status.spec_hash = digest
    conditions.derive(status, now, res.generation, reason, message, ready=status.phase == "Running")
    if status.phase != res.status.phase:
        kind = "Warning" if status.phase == "Failed" else "Normal"
        acts.events.append(Event(kind, reason, message))
    return acts
