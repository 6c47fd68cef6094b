"""One reconcile step. Pure: no I/O, the same for the operator and `cogumi run`.

Policy for spec changes (documented in the README): the spec (without `suspend`) is hashed;
when the hash differs from the one the current run executes, a new run starts from the
first stage. Jobs of the old run that are still active are deleted; finished ones stay until
the resource is deleted, so their logs can be read. Toggling `suspend` never restarts a run:
while suspended, no new stage Job starts (a running one finishes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from cogumi_api.meta import Artifact, StageStatus, Status
from cogumi_api.stage import ObjectRef, StageInvocation, StageReport
from cogumi_operator.engine import conditions, gates, refs
from cogumi_operator.engine.model import Actions, Event, JobRequest, JobView, Observed, Resource, job_name
from cogumi_operator.plans import Plan, StageStep


def spec_hash(raw_spec: dict) -> str:
    body = {k: v for k, v in raw_spec.items() if k != "suspend"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    raise AssertionError("unreachable")


def step(res: Resource, plan: Plan, seen: Observed, now: datetime, *, output_root: str,
         result_uri: Callable[[str], str]) -> Actions:
    status = res.status.model_copy(deep=True)
    acts = Actions(status=status)
    steps = plan.stages(res.spec)
    digest = spec_hash(res.raw_spec)

    if status.spec_hash != digest:
        acts.delete = [name for name, job in seen.jobs.items() if job.state == "Active"]
        if status.spec_hash is not None:
            acts.events.append(Event("Normal", "SpecChanged", f"spec changed: starting run {status.run + 1}"))
        status.run += 1
        status.spec_hash = digest
        status.stages = [StageStatus(name=s.name) for s in steps]
        status.gates, status.artifacts, status.phase, status.stage, status.size = [], {}, "Pending", None, None
    status.observed_generation = res.generation
    spec_gates = plan.gates(res.spec)
    found = refs.find(res.raw_spec)
    resolved, waiting, broken = refs.resolve(found, seen.references)
    served, unserved = refs.endpoints(found, seen.references)
    waiting += unserved
    if status.phase in ("Succeeded", "Failed", "GateFailed"):
        reason, message = _terminal_reason(status)
    elif broken:
        status.phase, reason, message = "Failed", "InvalidReference", "; ".join(broken)
        acts.events.append(Event("Warning", "InvalidReference", message))
    elif waiting and not any(s.attempts for s in status.stages):
        status.phase, reason, message = "Pending", "WaitingForInputs", "waiting for " + ", ".join(waiting)
    else:
        params = refs.substitute(res.raw_spec, resolved)
        res = replace(res, raw_spec=params)
        reason, message = _advance(res, plan, steps, seen, now, acts, output_root, result_uri, resolved, served)

    status.gates = gates.evaluate(spec_gates, status.stages)
    status.gates_summary = gates.summary(status.gates)
    main = status.artifacts.get(plan.main_artifact or "")
    if main is not None and main.bytes is not None:
        status.size = human_bytes(main.bytes)
    conditions.derive(status, now, res.generation, reason, message)
    return acts


def _advance(res: Resource, plan: Plan, steps: list[StageStep], seen: Observed, now: datetime,
             acts: Actions, output_root: str, result_uri: Callable[[str], str],
             referenced: dict[str, Artifact], served: dict[str, str]) -> tuple[str, str]:
    """Move the run along its stages; returns the (reason, message) of the overall state."""
    status = acts.status
    inputs: dict[str, Artifact] = dict(referenced)
    start = partial(_start, res, plan, inputs=inputs, now=now, acts=acts, output_root=output_root,
                    result_uri=result_uri, endpoints=served)
    retry = res.spec.retry  # type: ignore[attr-defined]
    for stage_step, st in zip(steps, status.stages, strict=True):
        if st.phase in ("Succeeded", "Skipped"):
            inputs.update(st.artifacts)
            continue
        status.stage = st.name
        if st.attempts == 0:
            if res.spec.suspend:  # type: ignore[attr-defined]
                status.phase = "Suspended"
                return "Suspended", "suspended before stage " + st.name
            start(stage_step, st, 1)
            return "StageRunning", f"stage {st.name} started"
        name = job_name(res.name, st.name, status.run, st.attempts)
        job, report = seen.jobs.get(name), seen.results.get(name)
        if job is None and report is None:
            # Not visible yet (watch lag) or deleted: ensuring it is idempotent (fixed name).
            start(stage_step, st, st.attempts, again=True)
            return "StageRunning", f"stage {st.name} attempt {st.attempts} running"
        if job is not None and job.state == "Active":
            status.phase = "Running"
            return "StageRunning", f"stage {st.name} attempt {st.attempts} running"
        if report is not None and report.outcome == "Succeeded" and (job is None or job.state == "Succeeded"):
            _fold(st, report, job, now)
            status.artifacts.update(report.artifacts)
            inputs.update(report.artifacts)
            acts.events.append(Event("Normal", "StageSucceeded", _stage_summary(st)))
            failed = [g for g in gates.evaluate(plan.gates(res.spec), status.stages) if g.passed is False]
            if failed:
                status.phase, message = "GateFailed", "; ".join(gates.describe_failure(g) for g in failed)
                acts.events.append(Event("Warning", "GateFailed", message))
                return "GateFailed", message
            continue
        if job is not None and job.state == "Succeeded" and report is None:
            status.phase = "Running"  # the result object may trail the Job by a watch event
            return "AwaitingResult", f"stage {st.name} finished; waiting for its result"
        # Failed: by the Job (crash, deadline, lost node) or by the workload's own report.
        why = (report.message if report is not None and report.message else None) or (
            job.message if job is not None else "") or "stage failed"
        retryable = report.retryable if report is not None and report.outcome == "Failed" else True
        st.message = why
        if retryable and st.attempts < retry.max_attempts:
            finished = (job.completion_time if job else None) or now
            due = finished + timedelta(seconds=retry.backoff_seconds * 2 ** (st.attempts - 1))
            if st.phase != "Retrying":  # first sight of this attempt's failure
                acts.events.append(Event("Warning", "StageRetrying",
                                         f"stage {st.name} attempt {st.attempts} failed: {why}"))
            if now < due:
                st.phase, status.phase = "Retrying", "Running"
                acts.requeue_after = (due - now).total_seconds()
                return "StageRetrying", f"stage {st.name} attempt {st.attempts} failed: {why}; retrying"
            start(stage_step, st, st.attempts + 1)
            return "StageRunning", f"stage {st.name} attempt {st.attempts} started after a failure"
        st.phase, st.completion_time, status.phase = "Failed", now, "Failed"
        if report is not None:
            st.metrics.update(report.metrics)
        kind = "permanent" if not retryable else f"after {st.attempts} attempts"
        message = f"stage {st.name} failed ({kind}): {why}"
        acts.events.append(Event("Warning", "StageFailed", message))
        return "StageFailed", message
    status.phase = "Succeeded"
    acts.events.append(Event("Normal", "Succeeded", f"all {len(steps)} stages succeeded"))
    return "Succeeded", f"all {len(steps)} stages succeeded"


def _terminal_reason(status: Status) -> tuple[str, str]:
    ready = next((c for c in status.conditions if c.type == "Ready"), None)
    if ready is not None:
        return ready.reason, ready.message
    return status.phase, ""


def _start(res: Resource, plan: Plan, stage_step: StageStep, st: StageStatus, attempt: int, *,
           inputs: dict[str, Artifact], now: datetime, acts: Actions, output_root: str,
           result_uri: Callable[[str], str], endpoints: dict[str, str], again: bool = False) -> None:
    status = acts.status
    name = job_name(res.name, st.name, status.run, attempt)
    invocation = StageInvocation(
        resource=ObjectRef(kind=res.kind, name=res.name, namespace=res.namespace, uid=res.uid,
                           generation=res.generation),
        stage=st.name, attempt=attempt, params=res.raw_spec, inputs=dict(inputs), endpoints=dict(endpoints),
        output=f"{output_root.rstrip('/')}/run-{status.run}/{st.name}", result=result_uri(name),
    )
    acts.create.append(JobRequest(name=name, stage=st.name, stage_id=plan.stage_id(st.name), run=status.run,
                                  attempt=attempt, gpu=stage_step.gpu, invocation=invocation))
    if not again:
        st.attempts, st.job, st.phase, st.message = attempt, name, "Running", None
        st.start_time = st.start_time or now
        acts.events.append(Event("Normal", "StageStarted", f"stage {st.name} attempt {attempt}: Job {name}"))
    status.phase = "Running"


def _fold(st: StageStatus, report: StageReport, job: JobView | None, now: datetime) -> None:
    st.phase = "Succeeded"
    st.metrics = dict(report.metrics)
    st.artifacts = dict(report.artifacts)
    st.message = report.message or None
    st.completion_time = (job.completion_time if job else None) or now


def _stage_summary(st: StageStatus) -> str:
    shown = ", ".join(f"{k}={v:g}" for k, v in list(st.metrics.items())[:6])
    return f"stage {st.name} succeeded" + (f": {shown}" if shown else "")
