"""Argo CD: the health checks under a Lua 5.1 interpreter (Argo CD's gopher-lua speaks 5.1), their
fixtures, statuses made by the real reconcile engine, the argocd-cm snippet and the Application example."""

from __future__ import annotations

import importlib.util
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from deliverykit import ARGOCD, DATA, SYSTEM_CHART
from lupa import lua51

from cogumi_api.compression import CompressionRunSpec
from cogumi_api.meta import Artifact, Status
from cogumi_api.registry import KINDS
from cogumi_api.stage import ObjectRef, StageReport
from cogumi_operator.devcluster import ClusterInfo, apply_manifests, kubectl
from cogumi_operator.engine import JobView, Observed, Resource, step
from cogumi_operator.plans import plan_for

CUSTOMIZATIONS = ARGOCD / "resource_customizations" / "cogumi.ai"
OUR_KINDS = [k.kind for k in KINDS if k.has_status]
HEALTH = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


def _generator():
    spec = importlib.util.spec_from_file_location("argocd_generate", ARGOCD / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def health(script: str, obj: dict[str, Any]) -> dict[str, str]:
    """Run a health check the way Argo CD does: `obj` a global table, the chunk returns the result.

    A fresh Lua 5.1 state per call, without io/os/require/load*: the script may use only what Argo CD's
    sandbox offers (base, table, string, math).
    """
    lua = lua51.LuaRuntime(register_eval=False, register_builtins=False, unpack_returned_tuples=True)
    assert lua.eval("_VERSION") == "Lua 5.1"
    for unsafe in ("io", "os", "require", "dofile", "loadfile", "load", "loadstring", "package", "debug"):
        lua.execute(f"{unsafe} = nil")
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(script)
    assert lua.eval("type")(result) == "table", "a health check returns a table"
    return {k: v for k, v in result.items()}


def test_every_kind_has_its_health_check_and_the_generated_files_are_in_sync():
    assert sorted(p.name for p in CUSTOMIZATIONS.iterdir()) == sorted(OUR_KINDS)
    gen = _generator()
    stale = gen.stale()
    assert not stale, f"stale: {stale}; run .venv/bin/python charts/argocd/generate.py"
    shared = (ARGOCD / "health.lua").read_text()
    for kind in OUR_KINDS:  # one logic: every kind's script is the shared one
        assert (CUSTOMIZATIONS / kind / "health.lua").read_text().endswith(shared)


CASES = [(kind, test) for kind in OUR_KINDS
         for test in yaml.safe_load((CUSTOMIZATIONS / kind / "health_test.yaml").read_text())["tests"]]


@pytest.mark.parametrize(("kind", "case"), CASES, ids=[f"{k}-{Path(c['inputPath']).stem}" for k, c in CASES])
def test_health_check_fixture(kind: str, case: dict[str, Any]):
    obj = yaml.safe_load((CUSTOMIZATIONS / kind / case["inputPath"]).read_text())
    assert obj["kind"] == kind and obj["apiVersion"] == "cogumi.ai/v1alpha1"
    if "status" in obj:
        Status.model_validate(obj["status"])  # fixtures hold statuses the operator could write
    result = health((CUSTOMIZATIONS / kind / "health.lua").read_text(), obj)
    assert result == case["healthStatus"]


@pytest.mark.parametrize("kind", OUR_KINDS)
def test_each_kind_covers_healthy_progressing_degraded_and_suspended(kind: str):
    tests = yaml.safe_load((CUSTOMIZATIONS / kind / "health_test.yaml").read_text())["tests"]
    assert {t["healthStatus"]["status"] for t in tests} == {"Healthy", "Progressing", "Degraded", "Suspended"}


# Statuses written by the real engine (the same pure step() the operator runs), not by hand.
T0 = datetime(2026, 1, 1, tzinfo=UTC)
RAW = {"model": {"uri": "file:///m"}, "stages": ["export", "pack"], "retry": {"maxAttempts": 2, "backoffSeconds": 10}}


def _engine(raw: dict, status: Status | None, seen: Observed, now: datetime = T0) -> Status:
    res = Resource(kind="CompressionRun", name="cr", namespace="ns", uid="u1", generation=1,
                   spec=CompressionRunSpec.model_validate(raw), status=status or Status(), raw_spec=raw)
    return step(res, plan_for("CompressionRun"), seen, now, output_root="file:///out",
                result_uri=lambda job: f"k8s://ns/{job}").status


def _report(stage: str, ok: bool = True, retryable: bool = False, **metrics: float) -> StageReport:
    return StageReport(resource=ObjectRef(kind="CompressionRun", name="cr", namespace="ns", uid="u1"),
                       stage=stage, attempt=1, outcome="Succeeded" if ok else "Failed", retryable=retryable,
                       message="" if ok else "out of memory", metrics=metrics,
                       artifacts={stage: Artifact(uri=f"file:///out/{stage}", sha256="ab", bytes=2048)})


def _done(name: str) -> JobView:
    return JobView(name, "Succeeded", completion_time=T0)


def _engine_statuses() -> dict[str, Status]:
    out = {"running": _engine(RAW, None, Observed())}
    out["retrying"] = _engine(RAW, out["running"], Observed(
        jobs={"cr-export-1": JobView("cr-export-1", "Failed", "Job failed: DeadlineExceeded", completion_time=T0)}),
        T0 + timedelta(seconds=3))
    out["failed"] = _engine(RAW, out["running"], Observed(
        jobs={"cr-export-1": JobView("cr-export-1", "Failed", completion_time=T0)},
        results={"cr-export-1": _report("export", ok=False)}))
    out["gate_failed"] = _engine(RAW, out["running"], Observed(
        jobs={"cr-export-1": _done("cr-export-1")}, results={"cr-export-1": _report("export", tokenAgreement=0.5)}))
    half = _engine(RAW, out["running"], Observed(
        jobs={"cr-export-1": _done("cr-export-1")}, results={"cr-export-1": _report("export", tokenAgreement=0.97)}))
    out["succeeded"] = _engine(RAW, half, Observed(
        jobs={"cr-export-1": _done("cr-export-1"), "cr-pack-1": _done("cr-pack-1")},
        results={"cr-export-1": _report("export", tokenAgreement=0.97), "cr-pack-1": _report("pack", verified=1)}))
    out["suspended"] = _engine({**RAW, "suspend": True}, None, Observed())
    return out


EXPECTED = {"running": ("Progressing", "stage export started"),
            "retrying": ("Progressing", "DeadlineExceeded"),
            "failed": ("Degraded", "Failed: stage export failed (permanent): out of memory"),
            "gate_failed": ("Degraded", "GateFailed: gate export.tokenAgreement >= 0.95 failed: measured 0.5"),
            "succeeded": ("Healthy", "all 2 stages succeeded (gates passed: 2/2)"),
            "suspended": ("Suspended", "suspended before stage export")}


def test_statuses_written_by_the_engine_map_to_the_expected_health():
    script = (CUSTOMIZATIONS / "CompressionRun" / "health.lua").read_text()
    statuses = _engine_statuses()
    assert {k: s.phase for k, s in statuses.items()} == {
        "running": "Running", "retrying": "Running", "failed": "Failed", "gate_failed": "GateFailed",
        "succeeded": "Succeeded", "suspended": "Suspended"}
    for name, status in statuses.items():
        obj = {"apiVersion": "cogumi.ai/v1alpha1", "kind": "CompressionRun",
               "metadata": {"name": "cr", "namespace": "ns", "generation": 1}, "spec": RAW, "status": status.wire()}
        result = health(script, obj)
        want_status, want_message = EXPECTED[name]
        assert result["status"] == want_status, (name, result)
        assert want_message in result["message"], (name, result)
        # The same resource after a spec edit the operator has not seen yet is Progressing, never stale health.
        edited = {**obj, "metadata": {**obj["metadata"], "generation": 2}}
        assert health(script, edited)["status"] == "Progressing"


def test_the_argocd_cm_snippet_carries_one_key_per_kind_with_the_shared_script():
    cm = yaml.safe_load((ARGOCD / "argocd-cm.yaml").read_text())
    assert (cm["kind"], cm["metadata"]["name"], cm["metadata"]["namespace"]) == ("ConfigMap", "argocd-cm", "argocd")
    assert sorted(cm["data"]) == sorted(f"resource.customizations.health.cogumi.ai_{k}" for k in OUR_KINDS)
    shared = (ARGOCD / "health.lua").read_text()
    assert set(cm["data"].values()) == {shared}
    assert health(cm["data"]["resource.customizations.health.cogumi.ai_Dataset"], {"metadata": {}})["status"] == \
        "Progressing"


def _applications() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((ARGOCD / "application.yaml").read_text()) if d]


def test_the_application_installs_a_preset_after_the_crds_and_the_operator():
    (app,) = _applications()
    assert (app["apiVersion"], app["kind"]) == ("argoproj.io/v1alpha1", "Application")
    sources = app["spec"]["sources"]
    operator, system = (next(s for s in sources if s["path"] == f"charts/{c}") for c in ("cogumi-operator",
                                                                                          "cogumi-system"))
    # The preset is a values file of the system chart, and it exists.
    (values_file,) = system["helm"]["valueFiles"]
    assert (SYSTEM_CHART / values_file).is_file()
    # Sync waves: CRDs and the operator are in wave 0 (Argo CD applies CRDs first within a wave); the
    # ModelDeployment waits in a later wave and skips the dry run while its CRD does not exist yet.
    params = {p["name"]: p for p in system["helm"]["parameters"]}
    assert int(params["argocd.syncWave"]["value"]) > 0 and params["argocd.syncWave"]["forceString"] is True
    assert "--include-crds" not in str(operator)  # Argo CD renders a chart's crds/ folder by itself
    assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]


@pytest.mark.cluster
@pytest.mark.slow
def test_the_application_is_accepted_by_argo_cds_crd(cluster: ClusterInfo):
    # Argo CD's Application CRD as test data (a copy of the upstream v3.5.1 CRD); too big for the
    # last-applied annotation, so server-side.
    apply_manifests(cluster, [DATA / "argocd-application-crd.yaml"])  # waits until it is Established
    ns = f"argocd-{uuid.uuid4().hex[:6]}"
    kubectl(cluster, "create", "namespace", ns)

    def dry_run(app: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        path = Path(cluster.state_dir) / f"app-{uuid.uuid4().hex}.yaml"
        path.write_text(yaml.safe_dump({**app, "metadata": {**app["metadata"], "namespace": ns}}))
        try:
            return subprocess.run([str(cluster.kubectl), f"--kubeconfig={cluster.kubeconfig}", "apply",
                                   "--dry-run=server", "-f", str(path)], capture_output=True, text=True, check=False)
        finally:
            path.unlink()

    try:
        (app,) = _applications()
        ok = dry_run(app)
        assert ok.returncode == 0, ok.stderr
        assert "application.argoproj.io/cogumi-mvp-standard created (server dry run)" in ok.stdout
        broken = dry_run({**app, "spec": {**app["spec"], "syncPolicy": {"retry": {"limit": "many"}}}})
        assert broken.returncode != 0 and "spec.syncPolicy.retry.limit" in broken.stderr  # the schema is enforced
    finally:
        kubectl(cluster, "delete", "namespace", ns, "--wait=false")
