"""Delivering a :class:`StageReport`: a JSON file, or a ``StageResult`` object in the cluster."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlparse

from cogumi_api.meta import API_VERSION, GROUP, VERSION
from cogumi_api.stage import StageReport
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.errors import PermanentError, RetryableError

PLURAL = "stageresults"
KIND = "StageResult"


def deliver(result_uri: str, report: StageReport) -> None:
    """Write ``report`` where ``result_uri`` says. Any failure is a :class:`RetryableError`."""
    kind = uris.scheme(result_uri)
    if kind == "k8s":
        parsed = urlparse(result_uri)
        name = parsed.path.strip("/")
        if not parsed.netloc or not name or "/" in name:
            raise RetryableError(f"result URI {result_uri!r} must be k8s://<namespace>/<name>")
        _create_or_replace(parsed.netloc, name, report)
        return
    try:
        path = uris.local_path(result_uri)
        uris.atomic_write_text(path, json.dumps(report.wire(), indent=2) + "\n")
    except OSError as exc:
        raise RetryableError(f"could not write the report to {result_uri!r}: {exc}") from exc
    except PermanentError as exc:
        raise RetryableError(f"cannot report to {result_uri!r}: {exc}") from exc


def stage_result_body(namespace: str, name: str, report: StageReport) -> dict[str, Any]:
    """The ``StageResult`` object for ``report``."""
    resource = report.resource
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": {"cogumi.ai/stage": report.stage, "cogumi.ai/resource": resource.name},
    }
    if resource.uid:
        metadata["ownerReferences"] = [{
            "apiVersion": API_VERSION, "kind": resource.kind, "name": resource.name, "uid": resource.uid,
            "controller": False, "blockOwnerDeletion": False,
        }]
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": report.wire()}


def _load_config() -> None:
    from kubernetes import config

    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config()
        else:
            config.load_kube_config()
    except config.ConfigException as exc:
        raise RetryableError(f"no Kubernetes configuration to report with: {exc}") from exc


def _create_or_replace(namespace: str, name: str, report: StageReport) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException
    from urllib3.exceptions import HTTPError

    _load_config()
    api = client.CustomObjectsApi()
    body = stage_result_body(namespace, name, report)
    try:
        try:
            api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
            return
        except ApiException as exc:
            if exc.status != 409:
                raise
        for _ in range(3):  # replace needs the current resourceVersion; retry on a race
            current = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            try:
                api.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, body)
                return
            except ApiException as exc:
                if exc.status != 409:
                    raise
        raise RetryableError(f"StageResult {namespace}/{name} kept changing while it was replaced")
    except ApiException as exc:
        raise RetryableError(f"could not report StageResult {namespace}/{name}: "
                             f"HTTP {exc.status} {exc.reason}: {exc.body}") from exc
    except (HTTPError, OSError) as exc:
        raise RetryableError(f"could not reach the API server to report {namespace}/{name}: {exc}") from exc
