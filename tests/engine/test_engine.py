"""The reconcile engine as a pure function: stages, retries, gates, spec changes, suspend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cogumi_api.compression import CompressionRunSpec
from cogumi_api.meta import Artifact, Status
from cogumi_api.stage import ObjectRef, StageReport
from cogumi_operator.engine import JobView, Observed, Resource, step
from cogumi_operator.plans import plan_for

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def resource(raw: dict, status: Status | None = None, kind: str = "CompressionRun") -> Resource:
    spec = CompressionRunSpec.model_validate(raw)
    return Resource(kind=kind, name="cr", namespace="ns", uid="u1", generation=1, spec=spec,
                    status=status or Status(), raw_spec=raw)


RAW = {"model": {"uri": "file:///m"}, "stages": ["export", "pack"], "retry": {"maxAttempts": 2, "backoffSeconds": 10}}


def run(res: Resource, seen: Observed, now: datetime = T0):
    acts = step(res, plan_for("CompressionRun"), seen, now, output_root="file:///out",
                result_uri=lambda job: f"k8s://ns/{job}")
    return acts, Resource(**{**res.__dict__, "status": acts.status})


def report(stage: str, ok: bool = True, retryable: bool = False, **metrics: float) -> StageReport:
    return StageReport(resource=ObjectRef(kind="CompressionRun", name="cr", namespace="ns", uid="u1"),
                       stage=stage, attempt=1, outcome="Succeeded" if ok else "Failed", retryable=retryable,
                       message="" if ok else "boom", metrics=metrics,
                       artifacts={stage: Artifact(uri=f"file:///out/{stage}", sha256="ab", bytes=2048)})


def test_first_step_creates_the_first_stage_job_with_inputs_and_result_target():
    acts, res = run(resource(RAW), Observed())
    assert [r.name for r in acts.create] == ["cr-export-1"]
    req = acts.create[0]
    assert req.stage_id == "compressionrun.export" and req.invocation.result == "k8s://ns/cr-export-1"
    assert req.invocation.output == "file:///out/run-1/export"
    assert res.status.phase == "Running" and res.status.stage == "export"
    assert [s.name for s in res.status.stages] == ["export", "pack"]
    assert {c.type: c.status for c in res.status.conditions}["Progressing"] == "True"


def test_success_folds_the_result_passes_artifacts_on_and_evaluates_gates():
    _, res = run(resource(RAW), Observed())
    seen = Observed(jobs={"cr-export-1": JobView("cr-export-1", "Succeeded", completion_time=T0)},
                    results={"cr-export-1": report("export", tokenAgreement=0.97)})
    acts, res = run(res, seen)
    assert acts.create[0].name == "cr-pack-1"
    assert acts.create[0].invocation.inputs["export"].uri == "file:///out/export"
    assert res.status.stages[0].metrics == {"tokenAgreement": 0.97}
    gate = res.status.gates[0]
    assert (gate.metric, gate.value, gate.passed) == ("export.tokenAgreement", 0.97, True)
    assert res.status.gates_summary == "1/2"


def test_failed_gate_stops_the_run_with_the_measured_value():
    _, res = run(resource(RAW), Observed())
    seen = Observed(jobs={"cr-export-1": JobView("cr-export-1", "Succeeded", completion_time=T0)},
                    results={"cr-export-1": report("export", tokenAgreement=0.5)})
    acts, res = run(res, seen)
    assert acts.create == [] and res.status.phase == "GateFailed"
    ready = next(c for c in res.status.conditions if c.type == "Ready")
    assert ready.reason == "GateFailed" and "measured 0.5" in ready.message
    assert next(c for c in res.status.conditions if c.type == "GatesPassed").status == "False"


def test_retryable_failure_backs_off_then_retries_then_fails_with_the_reason():
    _, res = run(resource(RAW), Observed())
    failed = JobView("cr-export-1", "Failed", "Job failed: DeadlineExceeded", completion_time=T0)
    acts, res = run(res, Observed(jobs={"cr-export-1": failed}), T0 + timedelta(seconds=3))
    assert acts.create == [] and res.status.stages[0].phase == "Retrying"
    assert acts.requeue_after == pytest.approx(7)
    assert next(c for c in res.status.conditions if c.type == "Degraded").status == "True"
    acts, res = run(res, Observed(jobs={"cr-export-1": failed}), T0 + timedelta(seconds=11))
    assert [r.name for r in acts.create] == ["cr-export-2"] and res.status.stages[0].attempts == 2
    seen = Observed(jobs={"cr-export-1": failed,
                          "cr-export-2": JobView("cr-export-2", "Failed", "Job failed: DeadlineExceeded")})
    acts, res = run(res, seen, T0 + timedelta(seconds=60))
    assert acts.create == [] and res.status.phase == "Failed"
    ready = next(c for c in res.status.conditions if c.type == "Ready")
    assert ready.reason == "StageFailed" and "DeadlineExceeded" in ready.message and "2 attempts" in ready.message


def test_permanent_failure_is_not_retried():
    _, res = run(resource(RAW), Observed())
    seen = Observed(jobs={"cr-export-1": JobView("cr-export-1", "Failed", completion_time=T0)},
                    results={"cr-export-1": report("export", ok=False, retryable=False)})
    acts, res = run(res, seen, T0 + timedelta(hours=1))
    assert acts.create == [] and res.status.phase == "Failed"
    assert "permanent" in next(c for c in res.status.conditions if c.type == "Ready").message


def test_lagging_watch_recreates_the_same_job_name_never_a_new_one():
    _, res = run(resource(RAW), Observed())
    acts, res2 = run(res, Observed())
    assert [r.name for r in acts.create] == ["cr-export-1"] and res2.status.stages[0].attempts == 1


def test_spec_change_starts_a_new_run_and_deletes_active_jobs():
    _, res = run(resource(RAW), Observed())
    changed = resource({**RAW, "pack": {"level": 3}}, res.status)
    acts, res = run(changed, Observed(jobs={"cr-export-1": JobView("cr-export-1", "Active")}))
    assert acts.delete == ["cr-export-1"] and [r.name for r in acts.create] == ["cr-r2-export-1"]
    assert res.status.run == 2 and any(e.reason == "SpecChanged" for e in acts.events)


def test_suspend_starts_nothing_and_does_not_restart_the_run():
    _, res = run(resource({**RAW, "suspend": True}), Observed())
    assert res.status.phase == "Suspended"
    acts, res = run(resource(RAW, res.status), Observed())
    assert res.status.run == 1 and [r.name for r in acts.create] == ["cr-export-1"]


def test_all_stages_succeeding_makes_the_resource_ready_with_its_size():
    raw = {**RAW, "stages": ["pack"]}
    _, res = run(resource(raw), Observed())
    seen = Observed(jobs={"cr-pack-1": JobView("cr-pack-1", "Succeeded", completion_time=T0)},
                    results={"cr-pack-1": StageReport(**{**report("pack", verified=1.0).__dict__,
                                                         "artifacts": {"packed": Artifact(uri="file:///p",
                                                                                          bytes=3 * 1024**2)}})})
    _acts, res = run(res, seen)
    assert res.status.phase == "Succeeded" and res.status.size == "3.0MiB" and res.status.gates_summary == "1/1"
    assert {c.type: c.status for c in res.status.conditions} == {
        "Ready": "True", "Progressing": "False", "GatesPassed": "True", "Degraded": "False"}


def test_references_wait_then_resolve_into_params_and_verified_inputs():
    from cogumi_operator.engine.refs import Referenced

    raw = {"model": {"fromResource": "BaseTraining/tuned"}, "stages": ["pack"]}
    acts, res = run(resource(raw), Observed(references={"BaseTraining/tuned": Referenced("Running", {})}))
    assert acts.create == [] and res.status.phase == "Pending"
    ready = next(c for c in res.status.conditions if c.type == "Ready")
    assert ready.reason == "WaitingForInputs" and "BaseTraining/tuned (phase Running)" in ready.message
    model = Artifact(uri="file:///tuned/model", sha256="c" * 64, bytes=10)
    acts, res = run(res, Observed(references={"BaseTraining/tuned": Referenced("Succeeded", {"model": model})}))
    inv = acts.create[0].invocation
    assert inv.params["model"] == {"uri": "file:///tuned/model"}
    assert inv.inputs["spec.model"] == model


def test_reference_to_a_failed_or_artifactless_resource_fails_the_run():
    from cogumi_operator.engine.refs import Referenced

    raw = {"model": {"fromResource": "Dataset/d"}, "stages": ["pack"]}
    acts, res = run(resource(raw), Observed(references={"Dataset/d": Referenced("Succeeded", {})}))
    assert acts.create == [] and res.status.phase == "Failed"
    ready = next(c for c in res.status.conditions if c.type == "Ready")
    assert ready.reason == "InvalidReference" and "has no `model` artifact" in ready.message
