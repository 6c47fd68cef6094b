"""kopf handlers of the ModelDeployment kind (imported by cogumi_operator.handlers)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from cogumi_api.meta import GROUP, VERSION
from cogumi_operator import builders, kube, metrics
from cogumi_operator.engine import deployment, refs
from cogumi_operator.engine.reconcile import spec_hash
from cogumi_operator.settings import Settings

KSERVE = ("serving.kserve.io", "v1beta1", "inferenceservices")


@kopf.index(*KSERVE, labels={"app.kubernetes.io/managed-by": "cogumi"})
def services_by_owner(meta: kopf.Meta, status: kopf.Status, **_: Any) -> dict[str, Any]:
    uid = meta.get("labels", {}).get(f"{GROUP}/uid")
    if not uid:
        return {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    view = deployment.ServiceView(spec_hash=meta.get("annotations", {}).get(builders.SPEC_HASH_ANNOTATION),
                                  ready=ready.get("status") == "True", url=status.get("url"),
                                  message=ready.get("message") or ready.get("reason") or "")
    return {uid: view}


def _apply(memo: kopf.Memo, manifest: dict[str, Any]) -> None:
    ns, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
    try:
        memo.custom.create_namespaced_custom_object(*KSERVE[:2], ns, KSERVE[2], manifest)
    except ApiException as err:
        if err.status != 409:
            raise
        patch = {"metadata": {"annotations": manifest["metadata"]["annotations"]}, "spec": manifest["spec"]}
        memo.custom.patch_namespaced_custom_object(*KSERVE[:2], ns, KSERVE[2], name, patch)


def modeldeployment_reconcile(body: kopf.Body, memo: kopf.Memo, services_by_owner: kopf.Index,
                              resources_by_name: kopf.Index, settings: Settings, logger: logging.Logger,
                              **_: Any) -> None:
    raw = dict(body)
    try:
        res = kube.resource(raw)
    except kube.InvalidResource as err:
        raise kopf.PermanentError(f"spec does not validate: {err}") from err
    known: dict[str, refs.Referenced] = {}
    for ref in refs.find(res.raw_spec):
        for found in resources_by_name.get((res.namespace, ref.kind, ref.name), []):
            known[ref.target] = found
    service = next(iter(services_by_owner.get(res.uid, [])), None)
    acts = deployment.step(res, service, known, datetime.now(UTC))
    if acts.apply is not None:
        _apply(memo, builders.build_inference_service(res, acts.apply, spec_hash(res.raw_spec), settings))
    if acts.delete:
        try:
            memo.custom.delete_namespaced_custom_object(*KSERVE[:2], res.namespace, KSERVE[2], res.name)
        except ApiException as err:
            if err.status != 404:
                raise
    if acts.status == res.status or not kube.write_status(memo.custom, raw, "modeldeployments", acts.status):
        return
    metrics.RECONCILES.labels("ModelDeployment").inc()
    for event in acts.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def register(settings: Settings) -> None:
    def handler(**kwargs: Any) -> None:
        modeldeployment_reconcile(settings=settings, **kwargs)

    kopf.timer(GROUP, VERSION, "modeldeployments", id="modeldeployment_reconcile",
               interval=settings.reconcile_interval, sharp=False)(handler)
