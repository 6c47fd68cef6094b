"""What every stage plan declares, and the lookup by kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from cogumi_api.meta import GateSpec


@dataclass(frozen=True)
class StageStep:
    name: str
    """Stage name, unique within the kind (also the `<stage>` of gate metrics)."""
    gpu: bool = False
    """Whether the stage benefits from the runtime's GPUs (CPU-only stages never request them)."""


@dataclass(frozen=True)
class Plan:
    kind: str
    stages: Callable[[Any], list[StageStep]]
    """The ordered stages for a (validated) spec."""
    default_gates: Callable[[Any], list[GateSpec]] = field(default=lambda spec: [])
    main_artifact: str | None = None
    """Artifact whose size is the resource's Size column."""

    def gates(self, spec: BaseModel) -> list[GateSpec]:
        explicit = getattr(spec, "gates", None)
        return list(explicit) if explicit is not None else self.default_gates(spec)

    def stage_id(self, stage: str) -> str:
        """The workload CLI's name for a stage of this kind."""
        return f"{self.kind.lower()}.{stage}"


_PLANS: dict[str, Plan] = {}


def register(plan: Plan) -> Plan:
    _PLANS[plan.kind] = plan
    return plan


def plan_for(kind: str) -> Plan | None:
    """The plan of a kind, or None for kinds without stage Jobs (ModelDeployment, Pipeline)."""
    from cogumi_operator.plans import kinds  # noqa: F401  (registers the plans)

    return _PLANS.get(kind)
