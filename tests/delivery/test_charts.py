"""Both Helm charts rendered by real helm: lint, the operator's Deployment and RBAC, the schemas refusing
bad values, and the six deployment-configuration presets of the plan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from deliverykit import (
    OPERATOR_CHART,
    PLAN,
    PRESETS,
    REPO,
    SYSTEM_CHART,
    find,
    helm,
    only,
    render,
    template,
)

from cogumi_api.registry import KINDS
from cogumi_api.serving import ModelDeploymentSpec
from cogumi_operator.settings import Settings


@pytest.mark.parametrize("chart", [OPERATOR_CHART, SYSTEM_CHART], ids=lambda p: p.name)
def test_helm_lint_is_clean(chart: Path):
    out = helm("lint", "--strict", str(chart), "--kube-version=1.34.4").stdout
    assert "1 chart(s) linted, 0 chart(s) failed" in out
    assert "[WARNING]" not in out and "[ERROR]" not in out, out


def test_the_chart_ships_exactly_the_generated_crds():
    generated = sorted((REPO / "crds").glob("cogumi.ai_*.yaml"))
    shipped = sorted((OPERATOR_CHART / "crds").glob("*.yaml"))
    assert [p.name for p in shipped] == [p.name for p in generated]
    stale = [p.name for p, q in zip(generated, shipped, strict=True) if p.read_bytes() != q.read_bytes()]
    assert not stale, (f"charts/cogumi-operator/crds/ is stale for {stale}: "
                       "cp crds/cogumi.ai_*.yaml charts/cogumi-operator/crds/")
    assert {p.name for p in shipped} == {f"cogumi.ai_{k.plural}.yaml" for k in KINDS}


def test_helm_template_includes_the_crds_on_request():
    docs = render(OPERATOR_CHART, "--include-crds")
    names = {d["metadata"]["name"] for d in find(docs, "CustomResourceDefinition")}
    assert names == {f"{k.plural}.cogumi.ai" for k in KINDS}


def _operator(docs: list[dict]) -> dict:
    return only(docs, "Deployment")["spec"]["template"]["spec"]


def test_the_operator_runs_non_root_read_only_without_capabilities():
    pod = _operator(render(OPERATOR_CHART))
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    # kopf's liveness endpoint is probed where kopf is told to listen.
    liveness = next(a for a in container["args"] if a.startswith("--liveness="))
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "health")
    assert liveness == f"--liveness=http://0.0.0.0:{port}/healthz"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    # The only writable place is an emptyDir on /tmp.
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]


def test_the_operator_arguments_are_kopf_options_and_the_env_our_settings():
    docs = render(OPERATOR_CHART, "--set", "watchNamespaces={team-a,team-b}")
    (container,) = _operator(docs)["containers"]
    args = container["args"]
    assert args[0] == "run" and args[-2:] == ["-m", "cogumi_operator.handlers"]
    assert "--standalone" in args and "--namespace=team-a" in args and "--namespace=team-b" in args
    assert "--all-namespaces" not in args
    help_text = subprocess.run([str(Path(sys.executable).parent / "kopf"), "run", "--help"], capture_output=True,
                               text=True, check=True).stdout
    for arg in args[1:-2]:
        assert arg.split("=", 1)[0] in help_text, f"kopf run has no option {arg}"
    env = {e["name"]: e["value"] for e in container["env"]}
    cogumi = {k for k in env if k.startswith("COGUMI_")}
    assert cogumi <= {f"COGUMI_{name.upper()}" for name in Settings.model_fields}
    settings = Settings.from_env(env)  # the values parse as the operator parses them
    metrics_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "metrics")
    assert settings.metrics_port == metrics_port == 9090
    assert settings.service_account == "cogumi-workload"
    defaults = Settings()
    assert (settings.workload_image, settings.server_image) == (defaults.workload_image, defaults.server_image)


def test_namespaced_mode_grants_roles_in_the_watched_namespaces_only():
    docs = render(OPERATOR_CHART, "--set", "watchNamespaces={team-a,team-b}")
    roles = find(docs, "Role")
    assert sorted((r["metadata"]["namespace"], r["metadata"]["name"]) for r in roles) == [
        ("team-a", "cogumi-workload"), ("team-a", "t-cogumi-operator"),
        ("team-b", "cogumi-workload"), ("team-b", "t-cogumi-operator")]
    for binding in find(docs, "RoleBinding", "t-cogumi-operator"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "t-cogumi-operator",
                                        "namespace": "cogumi"}]
    # Nothing cluster-wide, and kopf told not to observe namespaces and CRDs (it could not).
    assert not find(docs, "ClusterRole") and not find(docs, "ClusterRoleBinding")
    (container,) = _operator(docs)["containers"]
    assert {"name": "COGUMI_KOPF_SCANNING", "value": "false"} in container["env"]
    assert Settings.from_env({e["name"]: e["value"] for e in container["env"]}).kopf_scanning is False
    assert {sa["metadata"]["namespace"] for sa in find(docs, "ServiceAccount", "cogumi-workload")} == {
        "team-a", "team-b"}


def test_cluster_wide_mode_uses_one_cluster_role_and_watches_all_namespaces():
    docs = render(OPERATOR_CHART, "--set", "clusterWide=true")
    assert not find(docs, "Role", "t-cogumi-operator")
    role = only(docs, "ClusterRole", "t-cogumi-operator-cogumi")
    namespaced = only(render(OPERATOR_CHART), "Role", "t-cogumi-operator")
    assert role["rules"] == namespaced["rules"]
    assert only(docs, "ClusterRoleBinding", "t-cogumi-operator-cogumi")["roleRef"]["name"] == role["metadata"]["name"]
    (container,) = _operator(docs)["containers"]
    assert "--all-namespaces" in container["args"]
    assert not [a for a in container["args"] if a.startswith("--namespace")]
    assert "COGUMI_KOPF_SCANNING" not in {e["name"] for e in container["env"]}  # kopf watches CRDs: it may
    crds = only(docs, "ClusterRole", "t-cogumi-operator-cogumi-crd-reader")
    assert crds["rules"] == [{"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
                              "verbs": ["get", "list", "watch"]}]


def test_inference_services_can_be_left_out_where_nothing_is_served():
    def grants_kserve(*args: str) -> bool:
        rules = only(render(OPERATOR_CHART, *args), "Role", "t-cogumi-operator")["rules"]
        return any("serving.kserve.io" in r["apiGroups"] for r in rules)

    assert grants_kserve()
    assert not grants_kserve("--set", "rbac.inferenceServices=false")


def test_optional_service_monitor_and_the_dashboard_config_map():
    docs = render(OPERATOR_CHART)
    assert not find(docs, "ServiceMonitor")
    dashboard = only(docs, "ConfigMap", "t-cogumi-operator-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((OPERATOR_CHART / "dashboards" / "cogumi-operator.json").read_text())
    assert json.loads(dashboard["data"]["cogumi-operator.json"]) == shipped
    monitor = only(render(OPERATOR_CHART, "--set", "metrics.serviceMonitor.enabled=true"), "ServiceMonitor")
    service = only(docs, "Service")
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"] == "metrics"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()


BAD_OPERATOR_VALUES = [
    (["--set", "runAsUser=0"], "/runAsUser"),
    (["--set", "settings.logFormat=yaml"], "/settings/logFormat"),
    (["--set", "watchNamespaces={Not_A_Namespace}"], "/watchNamespaces/0"),
    (["--set", "clusterWide=true", "--set", "watchNamespaces={a}"], "/watchNamespaces"),
    (["--set", "metrics.port=70000"], "/metrics/port"),
    (["--set", "image.digest=latest"], "/image/digest"),
    (["--set", "settings.artifactRoot=/data"], "/settings/artifactRoot"),
    (["--set", "metrcs.port=9000"], "metrcs"),
]


@pytest.mark.parametrize(("args", "where"), BAD_OPERATOR_VALUES, ids=[w for _, w in BAD_OPERATOR_VALUES])
def test_the_operator_schema_refuses_bad_values_naming_them(args: list[str], where: str):
    proc = template(OPERATOR_CHART, *args, check=False)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert where in proc.stderr, proc.stderr


def preset_file(preset: str) -> Path:
    return SYSTEM_CHART / "presets" / f"{preset}.yaml"


def test_there_are_exactly_the_six_presets():
    assert sorted(p.stem for p in (SYSTEM_CHART / "presets").glob("*.yaml")) == sorted(PRESETS) == sorted(PLAN)


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_renders_the_plans_configuration(preset: str):
    docs = render(SYSTEM_CHART, "-f", str(preset_file(preset)), release="assistant", namespace="demo")
    md = only(docs, "ModelDeployment", "assistant")
    assert md["apiVersion"] == "cogumi.ai/v1alpha1" and md["metadata"]["namespace"] == "demo"
    assert md["metadata"]["labels"]["cogumi.ai/preset"] == preset
    mode, modifiers, critique = PLAN[preset]
    spec = md["spec"]
    assert spec["mode"] == mode
    assert sorted(m["domain"] for m in spec["modifiers"]) == sorted(modifiers)
    assert spec["selfCritique"] is critique
    for m in spec["modifiers"]:  # each modifier points at its ModifierTraining's adapter, as a GGUF LoRA
        assert m["adapter"] == {"fromResource": f"ModifierTraining/modifier-{m['domain']}", "format": "gguf"}
    assert spec["router"] == {"fromResource": "RouterModel/router"}
    if mode == "accurate":
        assert spec["selfConsistency"]["samples"] == 5  # plan phase 11: N=5 in accurate mode
    ModelDeploymentSpec.model_validate(spec)  # the operator's own model accepts it


def test_preset_memory_follows_the_plan_table():
    memory = {p: yaml.safe_load(preset_file(p).read_text())["resources"]["memory"] for p in PRESETS}
    assert memory == {"fast": "1600M", "mvp-standard": "2000M", "developer-pro": "2200M", "academic": "2400M",
                      "professional": "2500M", "complete": "3G"}


def test_adapters_and_router_can_be_given_by_uri():
    docs = render(SYSTEM_CHART, "-f", str(preset_file("mvp-standard")),
                  "--set", "adapters.code.uri=pvc://models/code-lora", "--set", "router.enabled=false")
    spec = only(docs, "ModelDeployment")["spec"]
    assert spec["modifiers"][0] == {"domain": "code", "adapter": {"uri": "pvc://models/code-lora", "format": "gguf"}}
    assert "router" not in spec
    hf = only(render(SYSTEM_CHART, "-f", str(preset_file("mvp-standard")), "--set", "model.format=hf",
                     "--set", "adapters.code.uri=pvc://models/code-lora"), "ModelDeployment")["spec"]
    assert {m["adapter"]["format"] for m in hf["modifiers"]} == {"hf"}  # the adapters follow the model's format


def test_the_sync_wave_annotation_is_rendered_when_asked():
    plain = only(render(SYSTEM_CHART), "ModelDeployment")
    assert "annotations" not in plain["metadata"]
    waved = only(render(SYSTEM_CHART, "--set-string", "argocd.syncWave=1"), "ModelDeployment")
    assert waved["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "1"


BAD_SYSTEM_VALUES = [
    (["--set", "mode=turbo"], "/mode", "'fast', 'accurate'"),
    (["--set", "modifiers={poetry}"], "/modifiers/0", "value must be one of"),
    (["--set", "modifiers={code,code}"], "/modifiers", "items at"),
    (["--set", "mode=fast", "--set", "selfCritique=true"], "/selfCritique", "false"),
    (["--set", "model.uri=file:///m"], "/model", "oneOf"),
    (["--set", "selfConsistency.samples=0"], "/selfConsistency/samples", "minimum"),
    (["--set", "preset=ultra"], "/preset", "value must be one of"),
    (["--set", "resources.memory=lots"], "/resources/memory", "pattern"),
]


@pytest.mark.parametrize(("args", "where", "why"), BAD_SYSTEM_VALUES, ids=[w for _, w, _ in BAD_SYSTEM_VALUES])
def test_the_system_schema_refuses_bad_values_naming_them(args: list[str], where: str, why: str):
    proc = template(SYSTEM_CHART, *args, check=False)
    assert proc.returncode != 0
    assert f"at '{where}'" in proc.stderr and why in proc.stderr, proc.stderr


def test_an_adapter_for_a_modifier_not_loaded_is_refused():
    proc = template(SYSTEM_CHART, "--set", "adapters.math.uri=file:///a", check=False)
    assert proc.returncode != 0 and "adapters.math is set but math is not in modifiers" in proc.stderr
