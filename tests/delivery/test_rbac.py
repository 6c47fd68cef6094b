"""Least privilege: the operator chart grants what the operator's code uses and nothing that adds power,
the real API server's RBAC authorizer agrees (`kubectl auth can-i --as`), and the operator runs under
exactly those permissions (its own ServiceAccount token) and takes a Pipeline through to Succeeded."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml
from clusterkit import Kube, eventually
from deliverykit import OPERATOR_CHART, can_i, only, render
from kubernetes import client

from cogumi_api.registry import KINDS
from cogumi_operator import devenv
from cogumi_operator.devcluster import ClusterInfo, kubectl
from cogumi_operator.devcluster.procs import ProcessTable, free_ports

OURS = sorted(k.plural for k in KINDS if k.has_status)
GROUP = "cogumi.ai"

# Every Kubernetes API call of the operator process, and what it needs. A new call in the code fails
# test_every_api_call_of_the_operator_is_accounted_for until it is added here and to the chart.
CALLS = {
    "create_namespaced_job": {("batch", "jobs", "create")},  # kube.create_job
    "delete_namespaced_job": {("batch", "jobs", "delete")},  # kube.delete_job
    # kube.create_custom (a Pipeline's children); deployment_handlers._apply (the InferenceService)
    "create_namespaced_custom_object": {(GROUP, k, "create") for k in OURS}
    | {("serving.kserve.io", "inferenceservices", "create")},
    "patch_namespaced_custom_object": {("serving.kserve.io", "inferenceservices", "patch")},
    "delete_namespaced_custom_object": {("serving.kserve.io", "inferenceservices", "delete")},
    "replace_namespaced_custom_object_status": {(GROUP, f"{k}/status", "update") for k in OURS},  # kube.write_status
}
EVENTS = {("", "events", "create")}  # kopf.event()


def _operator_modules() -> list[Path]:
    """The modules the running operator loads (`kopf run -m cogumi_operator.handlers`), found in a fresh
    interpreter: other tests import CLI-only modules (demo, bench) whose calls are the user's, not the
    operator's."""
    import cogumi_operator.handlers  # noqa: F401  (registers every handler with kopf's default registry)

    probe = ("import sys, cogumi_operator.handlers\n"
             "print('\\n'.join(m.__file__ for n, m in sys.modules.items()"
             " if n.startswith('cogumi_operator') and getattr(m, '__file__', None)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return sorted({Path(line) for line in out.splitlines() if line})


def _kopf_needs() -> set[tuple[str, str, str]]:
    """What kopf itself does for our handlers: list+watch every watched resource; patch (finalizers and
    progress annotations) those with timers."""
    _operator_modules()
    registry = kopf.get_default_registry()
    by_category = {c: [k.plural for k in KINDS if c in k.categories] for k in KINDS for c in k.categories}
    plurals = {"jobs": "jobs", "inferenceservices": "inferenceservices"} | {k.plural: k.plural for k in KINDS}
    needs: set[tuple[str, str, str]] = set()
    for handlers, patches in ((registry._indexing, False), (registry._spawning, True)):
        for handler in handlers.get_all_handlers():
            sel = handler.selector
            names = by_category[sel.category] if sel.category else [plurals[sel.any_name or sel.plural]]
            group = "" if sel.group in (None, "v1") else sel.group
            for plural in names:
                needs |= {(group, plural, "list"), (group, plural, "watch")}
                if patches:
                    needs.add((group, plural, "patch"))
    return needs


def _needed() -> set[tuple[str, str, str]]:
    return set().union(*CALLS.values()) | EVENTS | _kopf_needs()


def _granted(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_every_api_call_of_the_operator_is_accounted_for():
    used = set()
    for path in _operator_modules():
        used |= set(re.findall(r"\.(\w+_namespaced_\w+|\w+_cluster_custom_object\w*)\(", path.read_text()))
    assert used == set(CALLS), f"update CALLS and the chart's rules for {sorted(used ^ set(CALLS))}"


def test_kopf_watches_exactly_our_kinds_our_jobs_results_and_services():
    watched = {(g, r) for g, r, v in _kopf_needs() if v == "watch"}
    assert watched == {(GROUP, k) for k in OURS} | {(GROUP, "stageresults"), ("batch", "jobs"),
                                                   ("serving.kserve.io", "inferenceservices")}


def test_the_role_grants_what_the_code_needs_and_nothing_that_adds_power():
    rules = only(render(OPERATOR_CHART), "Role", "t-cogumi-operator")["rules"]
    granted, needed = _granted(rules), _needed()
    assert needed <= granted, f"missing: {sorted(needed - granted)}"
    # Extra verbs are allowed only where they add nothing: get beside list, update beside patch (and back).
    harmless = {(g, r, "get") for g, r, v in needed if v == "list"}
    harmless |= {(g, r, "update") for g, r, v in needed if v == "patch"}
    harmless |= {(g, r, "patch") for g, r, v in needed if v == "update"}
    assert granted - needed <= harmless, f"granted but unused: {sorted(granted - needed - harmless)}"
    assert not [g for g, r, v in granted if r in ("secrets", "configmaps", "pods", "*") or v == "*"]


def test_the_workload_role_may_only_report_stage_results():
    rules = only(render(OPERATOR_CHART), "Role", "cogumi-workload")["rules"]
    # cogumi_workloads.runtime.report: create, then get + replace on a retried attempt (patch adds nothing).
    assert _granted(rules) == {(GROUP, "stageresults", v) for v in ("create", "get", "update", "patch")}


# --------------------------------------------------------------------------- against the API server


def sa(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


@pytest.mark.cluster
@pytest.mark.slow
def test_the_operator_service_account_may_do_its_work_and_nothing_more(cluster: ClusterInfo, operator_release):
    ns, me = operator_release.namespace, sa(operator_release.namespace, operator_release.operator_sa)
    allowed = [("create", "jobs"), ("delete", "jobs"), ("watch", "jobs"), ("list", "stageresults.cogumi.ai"),
               ("create", "events"), ("create", "datasets.cogumi.ai"), ("watch", "pipelines.cogumi.ai"),
               ("create", "inferenceservices.serving.kserve.io")]
    allowed += [(verb, f"{plural}.cogumi.ai/status") for plural in OURS for verb in ("update", "patch")]
    for verb, resource in allowed:
        assert can_i(cluster, me, verb, resource, ns), f"the operator may not {verb} {resource} in {ns}"
    other = "default"
    denied = [("get", "secrets", ns), ("list", "secrets", ns), ("get", "configmaps", ns), ("create", "pods", ns),
              ("create", "jobs", other), ("list", "datasets.cogumi.ai", other),
              ("patch", "datasets.cogumi.ai/status", other), ("delete", "stageresults.cogumi.ai", ns),
              ("patch", "jobs", ns), ("delete", "datasets.cogumi.ai", ns),
              ("delete", "customresourcedefinitions.apiextensions.k8s.io", None),
              ("create", "customresourcedefinitions.apiextensions.k8s.io", None),
              ("create", "clusterroles.rbac.authorization.k8s.io", None),
              ("create", "rolebindings.rbac.authorization.k8s.io", ns),
              ("list", "namespaces", None), ("get", "secrets", None), ("create", "jobs", None),
              ("list", "customresourcedefinitions.apiextensions.k8s.io", None)]
    for verb, resource, where in denied:
        assert not can_i(cluster, me, verb, resource, where), f"the operator may {verb} {resource} in {where}"


@pytest.mark.cluster
@pytest.mark.slow
def test_the_workload_service_account_may_only_report(cluster: ClusterInfo, operator_release):
    ns, me = operator_release.namespace, sa(operator_release.namespace, operator_release.workload_sa)
    for verb in ("create", "get", "update"):
        assert can_i(cluster, me, verb, "stageresults.cogumi.ai", ns)
    denied = [("create", "jobs", ns), ("get", "secrets", ns), ("list", "stageresults.cogumi.ai", ns),
              ("delete", "stageresults.cogumi.ai", ns), ("get", "datasets.cogumi.ai", ns),
              ("update", "datasets.cogumi.ai/status", ns), ("create", "stageresults.cogumi.ai", "default"),
              ("create", "pods", ns)]
    for verb, resource, where in denied:
        assert not can_i(cluster, me, verb, resource, where), f"a stage Job may {verb} {resource} in {where}"


def _token_kubeconfig(cluster: ClusterInfo, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that authenticates as the ServiceAccount (a TokenRequest, as the kubelet would mount)."""
    token = kubectl(cluster, "-n", namespace, "create", "token", account, "--duration=20m").strip()
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    cfg = {"apiVersion": "v1", "kind": "Config", "clusters": admin["clusters"],
           "users": [{"name": account, "user": {"token": token}}],
           "contexts": [{"name": account, "context": {"cluster": admin["clusters"][0]["name"], "user": account,
                                                      "namespace": namespace}}],
           "current-context": account}
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.cluster
@pytest.mark.slow
def test_the_operator_works_under_exactly_the_charts_permissions(cluster: ClusterInfo, operator_release):
    """The installed Deployment's arguments and env, run here as a process that authenticates with the
    operator ServiceAccount's token: a Pipeline creates its Dataset child, which runs its four stage Jobs
    (on the local node) and folds their StageResults, and no request is forbidden."""
    ns = operator_release.namespace
    state = Path(cluster.state_dir)
    deploy = client.AppsV1Api().read_namespaced_deployment("cogumi-operator", ns).to_dict()
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    health, metrics = free_ports(2)
    args = [f"--liveness=http://127.0.0.1:{health}/healthz" if a.startswith("--liveness=") else a
            for a in container["args"]]
    env = {**os.environ, **{e["name"]: e["value"] for e in container["env"]}}
    env.update(KUBECONFIG=str(_token_kubeconfig(cluster, ns, operator_release.operator_sa,
                                                state / f"sa-{uuid.uuid4().hex[:6]}.kubeconfig")),
               COGUMI_METRICS_PORT=str(metrics), COGUMI_RECONCILE_INTERVAL="0.5",
               COGUMI_ARTIFACT_ROOT=(state / "artifacts").as_uri())
    log = state / f"operator-as-sa-{uuid.uuid4().hex[:6]}.log"
    procs = ProcessTable(state)
    procs.stop("operator", timeout=10)  # the session's admin operator would otherwise do the work
    try:
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "kopf", *args], env=env, cwd=state, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        try:
            eventually(lambda: _healthy(health), 60, "the operator (as its ServiceAccount) to be live")
            kube = Kube(cluster, ns)
            kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "Pipeline", "metadata": {"name": "lp"},
                         "spec": {"nodes": [{"name": "data", "kind": "Dataset", "spec": {
                             "sources": [{"generator": {"name": "arithmetic", "count": 40}}]}}]}})
            status = kube.wait_phase("pipelines", "lp", ("Succeeded", "Failed"), timeout=120)["status"]
            text = log.read_text()
            assert status["phase"] == "Succeeded", (status, text[-3000:])
            assert kube.get("datasets", "lp-data")["status"]["phase"] == "Succeeded"
            assert kube.jobs() == [f"lp-data-{s}-1" for s in ("dedup", "filter", "ingest", "split")]
            reasons = kubectl(cluster, "-n", ns, "get", "events", "-o", "jsonpath={.items[*].reason}").split()
            assert "StageSucceeded" in reasons  # kopf.event() as the operator's ServiceAccount
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
    finally:
        devenv.up(state, print)  # the session's operator back for the other tests
    text = log.read_text()
    forbidden = [line for line in text.splitlines() if re.search(r"forbidden|403|permission", line, re.IGNORECASE)]
    assert not forbidden, "\n".join(forbidden[:10])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        time.sleep(0.2)
        return False
