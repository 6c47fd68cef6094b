"""kopf handlers: thin. Each kind with stages gets one timer that runs one engine step.

Run with ``kopf run -m cogumi_operator.handlers`` (or ``cogumi operator``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes import client, config
from prometheus_client import start_http_server

from cogumi_api.meta import GROUP, VERSION, Artifact
from cogumi_api.registry import BY_KIND, KINDS
from cogumi_operator import builders, deployment_handlers, kube, metrics, pipeline_handlers
from cogumi_operator.engine import Observed, Resource, refs, step
from cogumi_operator.engine.reconcile import spec_hash
from cogumi_operator.engine.refs import Referenced
from cogumi_operator.plans import plan_for
from cogumi_operator.settings import Settings

_SETTINGS = Settings.from_env()
_PHASES: dict[tuple[str, str, str], str] = {}


@kopf.on.startup()
def operator_startup(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    settings.posting.level = logging.WARNING  # kopf's own log lines are not Events; ours are posted explicitly
    settings.execution.max_workers = 8
    settings.scanning.disabled = not _SETTINGS.kopf_scanning
    # A timer ticks every few seconds per resource: its "succeeded" lines would drown the log.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    memo.batch = client.BatchV1Api()
    memo.custom = client.CustomObjectsApi()
    start_http_server(_SETTINGS.metrics_port)
    logger.info("cogumi operator started: %s", _SETTINGS.model_dump())


@kopf.index("batch", "v1", "jobs", labels={"app.kubernetes.io/managed-by": "cogumi"})
def jobs_by_owner(meta: kopf.Meta, status: kopf.Status, **_: Any) -> dict[str, Any]:
    uid = meta.get("labels", {}).get(f"{GROUP}/uid")
    return {uid: kube.job_view(meta["name"], dict(status))} if uid else {}


@kopf.index(GROUP, VERSION, "stageresults")
def results_by_owner(meta: kopf.Meta, spec: kopf.Spec, **_: Any) -> dict[str, Any]:
    report = kube.stage_report(dict(spec))
    return {report.resource.uid: (meta["name"], report)} if report and report.resource.uid else {}


@kopf.index(group=GROUP, category="cogumi")
def resources_by_name(body: kopf.Body, meta: kopf.Meta, status: kopf.Status, **_: Any) -> dict[Any, Any]:
    """Phase, artifacts and serving URL of every resource, for references between them (`fromResource`,
    `deployment`)."""
    artifacts = {k: Artifact.model_validate(v) for k, v in (status.get("artifacts") or {}).items()}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    seen = Referenced(status.get("phase"), artifacts, status.get("gatesSummary"), ready.get("message", ""),
                      ready=ready.get("status") == "True", url=(status.get("extra") or {}).get("url"))
    return {(meta["namespace"], body["kind"], meta["name"]): seen}


def _references(res: Resource, index: kopf.Index) -> dict[str, Referenced]:
    known: dict[str, Referenced] = {}
    for ref in refs.find(res.raw_spec):
        for found in index.get((res.namespace, ref.kind, ref.name), []):
            known[ref.target] = found
    return known


def reconcile(body: kopf.Body, memo: kopf.Memo, jobs_by_owner: kopf.Index, results_by_owner: kopf.Index,
              resources_by_name: kopf.Index, logger: logging.Logger, **_: Any) -> None:
    """One engine step for one resource; every action in it is idempotent."""
    raw = dict(body)
    kind = raw["kind"]
    try:
        res = kube.resource(raw)
    except kube.InvalidResource as err:
        raise kopf.PermanentError(f"spec does not validate: {err}") from err
    plan = plan_for(kind)
    if plan is None:
        raise kopf.PermanentError(f"{kind} has no stage plan")
    if res.status.phase in ("Succeeded", "Failed", "GateFailed") and res.status.spec_hash is not None:
        if spec_hash(res.raw_spec) == res.status.spec_hash:
            _track(kind, res.namespace, res.name, res.status.phase)
            return  # finished and unchanged: nothing to do
    seen = Observed(
        jobs={j.name: j for j in jobs_by_owner.get(res.uid, [])},
        results=dict(results_by_owner.get(res.uid, [])),
        references=_references(res, resources_by_name),
    )
    acts = step(res, plan, seen, datetime.now(UTC), output_root=builders.default_output(_SETTINGS, res),
                result_uri=lambda job: f"k8s://{res.namespace}/{job}")
    for name in acts.delete:
        kube.delete_job(memo.batch, res.namespace, name)
    for req in acts.create:
        if kube.create_job(memo.batch, builders.build_job(res, req, _SETTINGS)):
            metrics.JOBS_CREATED.labels(kind, req.stage).inc()
    if acts.status == res.status:
        return
    if not kube.write_status(memo.custom, raw, BY_KIND[kind].plural, acts.status):
        logger.debug("status write conflicted; the next tick retries from a fresh read")
        return
    metrics.RECONCILES.labels(kind).inc()
    for event in acts.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)
        if event.reason == "GateFailed":
            for gate in acts.status.gates:
                if gate.passed is False:
                    metrics.GATE_FAILURES.labels(kind, gate.metric).inc()
    for st in acts.status.stages:
        before = next((s for s in res.status.stages if s.name == st.name), None)
        if st.phase == "Succeeded" and (before is None or before.phase != "Succeeded") and st.start_time \
                and st.completion_time:
            metrics.STAGE_SECONDS.labels(kind, st.name).observe((st.completion_time - st.start_time).total_seconds())
    _track(kind, res.namespace, res.name, acts.status.phase)


def _track(kind: str, namespace: str, name: str, phase: str) -> None:
    key = (kind, namespace, name)
    old = _PHASES.get(key)
    if old == phase:
        return
    if old is not None:
        metrics.PHASE.labels(kind, old).dec()
    metrics.PHASE.labels(kind, phase).inc()
    _PHASES[key] = phase


def _register() -> None:
    pipeline_handlers.register(_SETTINGS.reconcile_interval)
    deployment_handlers.register(_SETTINGS)
    for info in KINDS:
        if plan_for(info.kind) is None:
            continue
        kopf.timer(GROUP, VERSION, info.plural, id=f"{info.singular}_reconcile",
                   interval=_SETTINGS.reconcile_interval, sharp=False)(reconcile)


_register()
