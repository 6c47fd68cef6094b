"""`cogumi demo`: the README's main job — the whole MVP system in one apply.

Brings up the local control plane (etcd, kube-apiserver, the operator and the local node that runs
Jobs and InferenceServices as local processes), applies a sample (default
`crds/examples/mvp.yaml`, the plan's phases 0–9 as one Pipeline), shows a live table of its nodes
(phase, stage, gates) as they advance, then asks every serving ModelDeployment a few questions
through its OpenAI-compatible API and ends with a table of every quality gate. Any other sample
runs the same way (`cogumi demo --sample dataset.yaml`: one Dataset, its stages live).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from rich.console import Console, Group
from rich.live import Live

from cogumi_api.meta import GROUP, VERSION
from cogumi_api.registry import BY_KIND
from cogumi_operator import demoquery, demoview, devenv
from cogumi_operator.devcluster import cluster

NAMESPACE = "cogumi-demo"
EXAMPLES = devenv.REPO_CRDS / "examples"
DEFAULT_SAMPLE = "mvp.yaml"
TERMINAL = ("Succeeded", "Failed", "GateFailed")
POLL_S = 1.0


class DemoError(ValueError):
    """A sample the demo cannot run (missing, or not one of our kinds)."""


def sample_path(sample: str | None) -> Path:
    """`sample` as a path, else a file of crds/examples (default mvp.yaml)."""
    name = sample or DEFAULT_SAMPLE
    for path in (Path(name), EXAMPLES / name):
        if path.is_file():
            return path
    known = ", ".join(sorted(p.name for p in EXAMPLES.glob("*.yaml")))
    raise DemoError(f"--sample {name}: no such file, nor crds/examples/{name}; the samples are: {known}")


def load_sample(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind not in BY_KIND or not BY_KIND[kind].has_status:
        raise DemoError(f"{path}: kind {kind!r} is not a cogumi.ai kind the demo can apply")
    if not (doc.get("metadata") or {}).get("name"):
        raise DemoError(f"{path}: metadata.name is missing")
    return doc


def finished(kind: str, phase: str | None) -> bool:
    """Whether the applied resource has reached its end (a ModelDeployment's is serving)."""
    return phase in TERMINAL or (kind == "ModelDeployment" and phase == "Running")


def _replace(custom: client.CustomObjectsApi, doc: dict[str, Any], console: Console) -> None:
    """Create the sample, deleting the previous demo's object (and, in the foreground, its children) first."""
    plural, name = BY_KIND[doc["kind"]].plural, doc["metadata"]["name"]
    try:
        custom.delete_namespaced_custom_object(GROUP, VERSION, NAMESPACE, plural, name,
                                               propagation_policy="Foreground")
        console.print(f"deleting the previous {doc['kind']}/{name} and what it created")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, plural, name)
            time.sleep(0.5)
        raise TimeoutError(f"the previous {doc['kind']}/{name} was not deleted within 300s")
    except ApiException as err:
        if err.status != 404:
            raise
    custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, plural, doc)


def _transitions(before: dict[str, str], snap: demoview.Snapshot, console: Console) -> None:
    """One log line per node (or stage) that changed phase, so a log without a terminal tells the story too."""
    for seen in snap.resources:
        rows = [(seen.node, seen.status.phase if seen.status else "waiting")]
        if seen.status is not None and snap.top.kind != "Pipeline":
            rows = [(f"{seen.node}.{s.name}", s.phase) for s in seen.status.stages]
        for key, phase in rows:
            # a running node's stage is part of what is compared, so each stage start is a line of its own
            stage = seen.status.stage if seen.status and phase == "Running" else None
            state = f"{phase} {stage}" if stage else phase
            if before.get(key) not in (None, state) or (key not in before and phase not in ("waiting", "Pending")):
                detail = seen.ready_message if snap.top.kind == "Pipeline" else ""
                console.log(f"{key}: {phase}" + (f" — {demoview.clip(detail, 100)}" if detail else ""))
            before[key] = state


def watch(custom: client.CustomObjectsApi, kind: str, name: str, console: Console,
          timeout_s: float) -> demoview.Snapshot:
    """Poll and render until the resource finishes or `timeout_s` passes; returns the last snapshot."""
    seen: dict[str, str] = {}
    snap = demoview.snapshot(custom, NAMESPACE, kind, name)

    def render(s: demoview.Snapshot) -> Any:
        return demoview.live_table(s) if kind == "Pipeline" else Group(demoview.live_table(s),
                                                                       demoview.stages_table(s.top))

    deadline = time.monotonic() + timeout_s
    with Live(render(snap), console=console, refresh_per_second=2, transient=False) as live:
        while True:
            snap = demoview.snapshot(custom, NAMESPACE, kind, name)
            _transitions(seen, snap, console)
            live.update(render(snap))
            phase = snap.top.status.phase if snap.top.status else None
            if finished(kind, phase) or time.monotonic() > deadline:
                return snap
            time.sleep(POLL_S)


def query(snap: demoview.Snapshot, console: Console) -> bool:
    """Ask every serving ModelDeployment one question per modifier domain (the base when it has none)."""
    ok = True
    for seen in demoview.deployments(snap):
        domains = [m.get("domain") for m in seen.spec.get("modifiers") or []] or ["math"]
        assert seen.url is not None
        try:
            answers = demoquery.ask_all(seen.url, [str(d) for d in domains])
        except demoquery.QueryError as err:
            console.print(f"[red]ModelDeployment/{seen.name} did not answer:[/] {err}")
            ok = False
            continue
        console.print(demoquery.answers_table(seen.name, seen.url, answers))
    return ok


def run_demo(state_dir: Path | None, console: Console, sample: str | None = None, timeout_s: float = 3600) -> int:
    begun = time.monotonic()
    path = sample_path(sample)
    doc = load_sample(path)
    kind, name = doc["kind"], doc["metadata"]["name"]
    state = state_dir or devenv.default_state_dir()
    info = devenv.up(state, lambda msg: console.print(f"[cyan]dev[/] {msg}"))
    up_s = time.monotonic() - begun
    config.load_kube_config(str(info.kubeconfig))
    core, custom = client.CoreV1Api(), client.CustomObjectsApi()
    try:
        core.create_namespace({"metadata": {"name": NAMESPACE}})
    except ApiException as err:
        if err.status != 409:
            raise
    _replace(custom, doc, console)
    console.print(f"applied {path.name} ({kind}/{name}) into namespace {NAMESPACE}")
    applied = time.monotonic()
    snap = watch(custom, kind, name, console, timeout_s)
    ran_s = time.monotonic() - applied
    phase = snap.top.status.phase if snap.top.status else "Pending"
    console.print(f"{kind}/{name} {phase} after {ran_s:.0f}s")
    answered = query(snap, console) if finished(kind, phase) and phase not in ("Failed", "GateFailed") else True
    console.print(demoview.gates_table(snap))
    table = demoview.specialisation_table(snap)
    if table is not None:
        console.print(table)
    print(cluster.kubectl(info, "get", "cogumi", "-n", NAMESPACE))
    if kind != "Pipeline":
        print(yaml.safe_dump({"status": snap.top.status.wire() if snap.top.status else {}}, sort_keys=False))
    console.print(f"demo wall time {time.monotonic() - begun:.0f}s: control plane {up_s:.0f}s, "
                  f"{kind} {ran_s:.0f}s, queries and tables {time.monotonic() - applied - ran_s:.0f}s")
    print(f"export KUBECONFIG={info.kubeconfig}")
    return 0 if finished(kind, phase) and phase not in ("Failed", "GateFailed") and answered else 1
