"""kopf handler of the Pipeline kind (imported by cogumi_operator.handlers)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import kopf
from pydantic import ValidationError

from cogumi_api.meta import GROUP, VERSION, Status
from cogumi_api.pipeline import PipelineSpec
from cogumi_api.registry import BY_KIND
from cogumi_operator import builders, kube, metrics
from cogumi_operator.engine import pipeline
from cogumi_operator.engine.refs import Referenced


def pipeline_reconcile(body: kopf.Body, memo: kopf.Memo, resources_by_name: kopf.Index,
                       logger: logging.Logger, **_: Any) -> None:
    raw = dict(body)
    meta = raw["metadata"]
    try:
        spec = PipelineSpec.model_validate(raw.get("spec") or {})
    except ValidationError as err:
        raise kopf.PermanentError(f"spec does not validate: {err}") from err
    status = Status.model_validate(raw.get("status") or {})
    generation = int(meta.get("generation") or 1)
    if status.phase in ("Succeeded", "Failed") and status.observed_generation == generation:
        return
    children: dict[str, Referenced] = {}
    for node in spec.nodes:
        name = pipeline.child_name(meta["name"], node.name)
        for found in resources_by_name.get((meta["namespace"], node.kind, name), []):
            children[name] = found
    acts = pipeline.step(meta["name"], generation, spec, status, children, datetime.now(UTC))
    for manifest in acts.create:
        child = builders.build_child(manifest, "Pipeline", meta["name"], meta["uid"], meta["namespace"])
        kube.create_custom(memo.custom, BY_KIND[child["kind"]].plural, child)
    if acts.status == status or not kube.write_status(memo.custom, raw, "pipelines", acts.status):
        return
    metrics.RECONCILES.labels("Pipeline").inc()
    for event in acts.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def register(interval: float) -> None:
    kopf.timer(GROUP, VERSION, "pipelines", id="pipeline_reconcile", interval=interval, sharp=False)(
        pipeline_reconcile)
