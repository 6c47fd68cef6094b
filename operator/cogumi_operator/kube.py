"""Reading children from Kubernetes objects and writing what the engine decided.

The only module of the operator that calls the Kubernetes API.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from cogumi_api.meta import GROUP, VERSION, Status
from cogumi_api.registry import BY_KIND
from cogumi_api.stage import StageReport
from cogumi_operator.engine.model import JobView, Resource

log = logging.getLogger(__name__)


class InvalidResource(ValueError):
    """A stored resource whose spec does not validate (the CRD should have refused it)."""


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def job_view(name: str, status: dict[str, Any] | None) -> JobView:
    status = status or {}
    conds = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in conds:
        state, message = "Succeeded", ""
    elif "Failed" in conds:
        cond = conds["Failed"]
        state, message = "Failed", f"Job failed: {cond.get('reason', '')} {cond.get('message', '')}".strip()
    else:
        state, message = "Active", ""
    done = conds.get("Complete") or conds.get("Failed") or {}
    return JobView(name=name, state=state, message=message,  # type: ignore[arg-type]
                   start_time=_time(status.get("startTime")),
                   completion_time=_time(status.get("completionTime") or done.get("lastTransitionTime")))


def stage_report(spec: dict[str, Any]) -> StageReport | None:
    try:
        return StageReport.model_validate(spec)
    except ValidationError as err:
        log.warning("ignoring a StageResult that does not validate: %s", err)
        return None


def resource(body: dict[str, Any]) -> Resource:
    meta, kind = body["metadata"], body["kind"]
    raw_spec = dict(body.get("spec") or {})
    try:
        spec = BY_KIND[kind].spec.model_validate(raw_spec)
    except ValidationError as err:
        raise InvalidResource(str(err)) from err
    return Resource(kind=kind, name=meta["name"], namespace=meta["namespace"], uid=meta["uid"],
                    generation=int(meta.get("generation") or 1), spec=spec,
                    status=Status.model_validate(body.get("status") or {}), raw_spec=raw_spec)


def create_job(batch: client.BatchV1Api, manifest: dict[str, Any]) -> bool:
    """Create a Job; False when one of that name exists already (names are deterministic)."""
    try:
        batch.create_namespaced_job(manifest["metadata"]["namespace"], manifest)
    except ApiException as err:
        if err.status == 409:
            return False
        raise
    return True


def create_custom(custom: client.CustomObjectsApi, plural: str, manifest: dict[str, Any]) -> bool:
    """Create one of our resources; False when it exists already (children have fixed names)."""
    try:
        custom.create_namespaced_custom_object(GROUP, VERSION, manifest["metadata"]["namespace"], plural, manifest)
    except ApiException as err:
        if err.status == 409:
            return False
        raise
    return True


def delete_job(batch: client.BatchV1Api, namespace: str, name: str) -> None:
    try:
        batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
    except ApiException as err:
        if err.status != 404:
            raise


def write_status(custom: client.CustomObjectsApi, body: dict[str, Any], plural: str, status: Status) -> bool:
    """Replace the status subresource, guarded by resourceVersion. False on a conflict (stale read)."""
    meta = body["metadata"]
    new = {"apiVersion": body["apiVersion"], "kind": body["kind"],
           "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                        "resourceVersion": meta["resourceVersion"]},
           "spec": body.get("spec") or {}, "status": status.wire()}
    try:
        custom.replace_namespaced_custom_object_status(GROUP, VERSION, meta["namespace"], plural,
                                                       meta["name"], new)
    except ApiException as err:
        if err.status in (404, 409):
            return False
        raise
    return True
