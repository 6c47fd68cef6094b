"""No stage of any operator plan is left without a workload: every `<kind>.<stage>` a Plan can schedule is in
cogumi_workloads.registry.STAGES (and every registered stage belongs to a plan)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cogumi_api.compression import COMPRESSION_ORDER
from cogumi_api.registry import BY_KIND, KINDS
from cogumi_operator.plans import plan_for
from cogumi_workloads.registry import STAGES

EXAMPLES = Path(__file__).resolve().parents[2] / "crds" / "examples"
TEACHER = {"name": "t", "url": "http://teacher:8000/v1", "model": "m"}
OPTIONAL_ON: dict[str, dict[str, Any]] = {
    # Spec changes that switch on every optional stage of a kind, so the union below is the whole plan.
    "CompressionRun": {"stages": list(COMPRESSION_ORDER)},
    "BaseTraining": {"distillation": {"teacher": TEACHER}},
    "RouterModel": {"escalation": {"enabled": True}, "adaptive": {}},
    "Evaluation": {"speed": {"enabled": True}},
}


def _specs() -> dict[str, list[dict[str, Any]]]:
    """Per kind with a plan: every sample's spec, plain and with every optional stage switched on."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if plan_for(doc["kind"]) is not None:
            spec = doc["spec"]
            out.setdefault(doc["kind"], []).extend([spec, {**spec, **OPTIONAL_ON.get(doc["kind"], {})}])
    return out


def test_every_plan_stage_has_a_registered_workload_and_every_workload_a_plan():
    specs = _specs()
    planned_kinds = {k.kind for k in KINDS if plan_for(k.kind) is not None}
    assert set(specs) == planned_kinds, "every kind with a plan needs a sample in crds/examples"
    planned: set[str] = set()
    for kind, raws in specs.items():
        plan = plan_for(kind)
        assert plan is not None
        for raw in raws:
            spec = BY_KIND[kind].spec.model_validate(raw)
            planned |= {plan.stage_id(s.name) for s in plan.stages(spec)}
    missing = sorted(planned - set(STAGES))
    assert not missing, f"plan stages without a workload in cogumi_workloads.registry.STAGES: {missing}"
    orphans = sorted(set(STAGES) - planned)
    assert not orphans, f"registered workloads no plan schedules: {orphans}"
    for stage_id, stage in STAGES.items():
        assert stage.spec is BY_KIND[plan_for_id(stage_id)].spec, stage_id


def plan_for_id(stage_id: str) -> str:
    kind = stage_id.split(".", 1)[0]
    return next(k.kind for k in KINDS if k.kind.lower() == kind)
