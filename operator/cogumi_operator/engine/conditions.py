"""Kubernetes-style conditions derived from the phase of a run."""

from __future__ import annotations

from datetime import datetime

from cogumi_api.meta import Condition, Status


def set_condition(status: Status, type_: str, state: str, reason: str, message: str,
                  now: datetime, generation: int) -> None:
    """Upsert a condition; lastTransitionTime changes only when the status value changes."""
    for cond in status.conditions:
        if cond.type == type_:
            if cond.status != state:
                cond.last_transition_time = now
            cond.status, cond.reason, cond.message = state, reason, message  # type: ignore[assignment]
            cond.observed_generation = generation
            return
    status.conditions.append(Condition(type=type_, status=state, reason=reason, message=message,  # type: ignore[arg-type]
                                       last_transition_time=now, observed_generation=generation))


def derive(status: Status, now: datetime, generation: int, reason: str, message: str,
           ready: bool | None = None) -> None:
    """Set Ready, Progressing, GatesPassed and Degraded from the phase and stages.

    `ready` overrides "Ready means Succeeded" for kinds that are ready while running (a serving
    ModelDeployment)."""
    phase = status.phase
    is_ready = phase == "Succeeded" if ready is None else ready
    done = phase in ("Succeeded", "Failed", "GateFailed") or is_ready
    set_condition(status, "Ready", "True" if is_ready else "False",
                  "Succeeded" if phase == "Succeeded" else reason, message, now, generation)
    set_condition(status, "Progressing", "False" if done or phase == "Suspended" else "True",
                  reason, message, now, generation)
    measured = [g for g in status.gates if g.passed is not None]
    if any(g.passed is False for g in measured):
        gates = ("False", "GateFailed")
    elif status.gates and len(measured) == len(status.gates):
        gates = ("True", "AllGatesPassed")
    elif not status.gates:
        gates = ("True", "NoGates")
    else:
        gates = ("Unknown", "NotMeasured")
    set_condition(status, "GatesPassed", gates[0], gates[1], status.gates_summary or "", now, generation)
    degraded = phase in ("Failed", "GateFailed") or any(s.phase == "Retrying" for s in status.stages)
    set_condition(status, "Degraded", "True" if degraded else "False",
                  reason if degraded else "Healthy", message if degraded else "", now, generation)
