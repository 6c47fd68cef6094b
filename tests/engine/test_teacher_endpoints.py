"""Teachers served by the operator: `endpoint: {fromResource: ModelDeployment/<name>}` on a cascade tier.

The engine waits until the deployment is Ready, hands its URL to the stage as the endpoint named
after the tier's path and leaves the spec's reference in place; a Pipeline creates the trainer at
once (it waits itself) and rewrites the reference to the child deployment's name.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from cogumi_api.common import Teacher
from cogumi_api.meta import Status
from cogumi_api.training import ModifierTrainingSpec
from cogumi_operator.engine import Observed, Resource, refs, step
from cogumi_operator.engine.refs import Referenced
from cogumi_operator.plans import plan_for
from cogumi_workloads.runtime.errors import RetryableError
from cogumi_workloads.training.teachers import resolve_url

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RAW = {"domain": "math", "baseModel": {"uri": "builtin://smollm2-135m-instruct"}, "samples": 4, "teachers": [
    {"name": "tier1", "url": "http://student:8000/v1", "model": "s"},
    {"name": "tier2", "endpoint": {"fromResource": "ModelDeployment/teacher-0-5b"}, "pricePer1kTokens": 0.0005,
     "budget": 0.03},
]}


def resource(raw: dict) -> Resource:
    return Resource(kind="ModifierTraining", name="mt", namespace="ns", uid="u1", generation=1,
                    spec=ModifierTrainingSpec.model_validate(raw), status=Status(), raw_spec=raw)


def run(seen: Observed):
    acts = step(resource(RAW), plan_for("ModifierTraining"), seen, T0, output_root="file:///out",
                result_uri=lambda job: f"k8s://ns/{job}")
    return acts


def test_a_teacher_deployment_is_a_served_reference() -> None:
    found = refs.find(RAW)
    assert [(r.path, r.target, r.artifact) for r in found] == [
        ("spec.teachers[1].endpoint", "ModelDeployment/teacher-0-5b", refs.SERVED)]


def test_the_stage_waits_for_the_teacher_to_be_ready() -> None:
    acts = run(Observed(references={"ModelDeployment/teacher-0-5b": Referenced("Pending", {}, message="loading")}))
    assert acts.create == [] and acts.status.phase == "Pending"
    ready = {c.type: c for c in acts.status.conditions}["Ready"]
    assert ready.reason == "WaitingForInputs"
    assert ready.message == "waiting for ModelDeployment/teacher-0-5b to be Ready (loading)"


def test_a_ready_teacher_hands_its_url_to_the_stage_and_the_spec_keeps_the_reference() -> None:
    served = Referenced("Running", {}, ready=True, url="http://10.0.0.9:8080")
    (req,) = run(Observed(references={"ModelDeployment/teacher-0-5b": served})).create
    assert req.invocation.endpoints == {"spec.teachers[1].endpoint": "http://10.0.0.9:8080"}
    assert req.invocation.params["teachers"][1]["endpoint"] == {"fromResource": "ModelDeployment/teacher-0-5b"}
    spec = ModifierTrainingSpec.model_validate(req.invocation.params)
    tier2 = spec.teachers[1]
    assert resolve_url(tier2, "spec.teachers[1]", req.invocation.endpoints) == "http://10.0.0.9:8080/v1"
    assert tier2.model is None  # the client asks the endpoint (GET /v1/models)
    assert resolve_url(spec.teachers[0], "spec.teachers[0]", {}) == "http://student:8000/v1"


def test_a_stage_started_without_the_url_retries() -> None:
    tier2 = ModifierTrainingSpec.model_validate(RAW).teachers[1]
    with pytest.raises(RetryableError, match=r"spec\.teachers\[1\]\.endpoint: no URL was passed for "
                                             r"ModelDeployment/teacher-0-5b"):
        resolve_url(tier2, "spec.teachers[1]", {})


@pytest.mark.parametrize("teacher, message", [
    ({"name": "t"}, "set exactly one of url"),
    ({"name": "t", "url": "http://a/v1", "endpoint": {"fromResource": "ModelDeployment/b"}}, "set exactly one of url"),
    ({"name": "t", "endpoint": {"fromResource": "BaseTraining/b"}}, "String should match pattern"),
])
def test_a_teacher_needs_exactly_one_address(teacher: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Teacher.model_validate(teacher)


def test_a_pipeline_creates_the_trainer_at_once_and_points_it_at_the_child_deployment() -> None:
    from cogumi_api.pipeline import PipelineSpec
    from cogumi_operator.engine import pipeline

    spec = PipelineSpec.model_validate({"nodes": [
        {"name": "teacher-0-5b", "kind": "ModelDeployment",
         "spec": {"model": {"uri": "builtin://qwen2.5-coder-0.5b-instruct", "format": "gguf"}}},
        {"name": "math", "kind": "ModifierTraining", "spec": RAW},
    ]})
    assert pipeline.dependencies(spec) == {"teacher-0-5b": set(), "math": set()}
    acts = pipeline.step("p", 1, spec, Status(), {}, T0)
    trainer = next(c for c in acts.create if c["kind"] == "ModifierTraining")
    assert trainer["spec"]["teachers"][1]["endpoint"] == {"fromResource": "ModelDeployment/p-teacher-0-5b"}
