"""The Evaluation kind in the pure engine: its spec's rules, its plan, and `deployment: name` resolved to the
ModelDeployment's URL once it is Ready (waiting, never failing, until then)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from cogumi_api.evaluation import EvaluationSpec
from cogumi_api.meta import Status
from cogumi_operator.engine import Observed, Resource, refs, step
from cogumi_operator.engine.refs import Referenced
from cogumi_operator.plans import plan_for

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RAW = {"deployment": "assistant", "baseline": {"uri": "builtin://tiny-llama"},
       "tasks": [{"name": "hard-math", "suite": "hard-math", "limit": 4}], "speed": {"minTokensPerSecond": 5}}


def resource(raw: dict, status: Status | None = None) -> Resource:
    spec = EvaluationSpec.model_validate(raw)
    return Resource(kind="Evaluation", name="ev", namespace="ns", uid="u1", generation=1, spec=spec,
                    status=status or Status(), raw_spec=spec.model_dump(by_alias=True, exclude_none=True, mode="json"))


def run(res: Resource, seen: Observed):
    acts = step(res, plan_for("Evaluation"), seen, T0, output_root="file:///out",
                result_uri=lambda job: f"k8s://ns/{job}")
    return acts, Resource(**{**res.__dict__, "status": acts.status})


def ready(res: Resource) -> tuple[str, str]:
    cond = next(c for c in res.status.conditions if c.type == "Ready")
    return cond.reason, cond.message


def test_plan_stages_and_default_gates_with_a_hyphenated_task_name():
    plan = plan_for("Evaluation")
    assert plan is not None
    spec = EvaluationSpec.model_validate(RAW)
    assert [(s.name, s.gpu) for s in plan.stages(spec)] == [("suites", True), ("speed", False)]
    assert [(g.metric, g.op, g.threshold) for g in plan.gates(spec)] == [
        ("suites.hard-math.passed", "==", 1), ("speed.tokensPerSecond", ">=", 5)]
    quiet = EvaluationSpec.model_validate({**RAW, "baseline": None, "speed": {"enabled": False},
                                           "tasks": [{"name": "m", "suite": "math", "minAccuracy": 0.5}]})
    assert [s.name for s in plan.stages(quiet)] == ["suites"] and not any(s.gpu for s in plan.stages(quiet))
    assert [g.metric for g in plan.gates(quiet)] == ["suites.m.passed"]


@pytest.mark.parametrize(("change", "message"), [
    ({"model": {"uri": "file:///m"}}, "set exactly one of model or deployment"),
    ({"deployment": None}, "set exactly one of model or deployment"),
    ({"baseline": None}, "set spec.baseline, or minAccuracy on every task"),
    ({"tasks": [{"name": "a", "suite": "math"}, {"name": "a", "suite": "code"}]}, "task names must be unique: a"),
    ({"tasks": [{"name": "a", "lmEvalTask": "cogumi_math"}]}, "for a deployment use suite"),
    ({"tasks": [{"name": "a", "suite": "math", "lmEvalTask": "cogumi_math"}]},
     "set exactly one of suite or lmEvalTask"),
    ({"tasks": [{"name": "a", "suite": "poetry"}]}, "Input should be 'code'"),
    ({"tasks": [{"name": "1a", "suite": "math"}]}, "String should match pattern"),
])
def test_spec_rules_refuse_with_the_fix(change: dict, message: str):
    with pytest.raises(ValidationError, match=message):
        EvaluationSpec.model_validate({**RAW, **change})


def test_missing_deployment_waits_with_a_clear_message_and_starts_nothing():
    acts, res = run(resource(RAW), Observed())
    assert acts.create == [] and res.status.phase == "Pending"
    assert ready(res) == ("WaitingForInputs",
                          "waiting for ModelDeployment/assistant (not found; create it in this namespace)")


def test_deployment_not_ready_or_failed_keeps_waiting_never_fails():
    for phase, message in (("Pending", "waiting for the InferenceService to be ready"),
                           ("Failed", "spec.model: CompressionRun/x ended Failed")):
        seen = Observed(references={"ModelDeployment/assistant": Referenced(phase, {}, message=message)})
        acts, res = run(resource(RAW), seen)
        assert acts.create == [] and res.status.phase == "Pending"
        assert ready(res) == ("WaitingForInputs", f"waiting for ModelDeployment/assistant to be Ready ({message})")


def test_ready_deployment_hands_its_url_to_the_stage_and_keeps_the_spec():
    served = Referenced("Running", {}, message="serving at http://10.0.0.7:8080", ready=True, url="http://10.0.0.7:8080")
    acts, res = run(resource(RAW), Observed(references={"ModelDeployment/assistant": served}))
    (req,) = acts.create
    assert req.name == "ev-suites-1" and req.stage_id == "evaluation.suites"
    assert req.invocation.endpoints == {"spec.deployment": "http://10.0.0.7:8080"}
    assert req.invocation.params["deployment"] == "assistant" and req.invocation.inputs == {}
    assert res.status.phase == "Running"


def test_find_and_resolve_keep_deployments_apart_from_artifacts():
    raw = {"deployment": "d", "baseline": {"fromResource": "BaseTraining/b"}}
    found = refs.find(raw)
    assert [(r.path, r.target, r.artifact) for r in found] == [
        ("spec.deployment", "ModelDeployment/d", refs.SERVED), ("spec.baseline", "BaseTraining/b", "model")]
    resolved, waiting, broken = refs.resolve(found, {})
    assert resolved == {} and waiting == ["BaseTraining/b (not found)"] and broken == []
    urls, unserved = refs.endpoints(found, {"ModelDeployment/d": Referenced("Running", {}, ready=True, url="http://u")})
    assert urls == {"spec.deployment": "http://u"} and unserved == []
    assert refs.substitute(raw, {}) == raw


def test_pipeline_creates_the_evaluation_at_once_naming_the_child_deployment():
    from cogumi_api.pipeline import PipelineSpec
    from cogumi_operator.engine import pipeline

    spec = PipelineSpec.model_validate({"nodes": [
        {"name": "serve", "kind": "ModelDeployment", "spec": {"model": {"uri": "builtin://tiny-llama"}}},
        {"name": "gate", "kind": "Evaluation", "spec": {**RAW, "deployment": "serve"}}]})
    assert pipeline.dependencies(spec) == {"serve": set(), "gate": set()}
    acts = pipeline.step("p", 1, spec, Status(), {}, T0)
    created = {c["metadata"]["name"]: c["spec"] for c in acts.create}
    assert set(created) == {"p-serve", "p-gate"} and created["p-gate"]["deployment"] == "p-serve"
