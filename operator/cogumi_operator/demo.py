"""`cogumi demo`: the README's main job on the embedded default.

Brings up the local control plane, applies the Dataset sample, shows its stages live until
it finishes, then prints `kubectl get cogumi` and the resource's status.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from rich.console import Console
from rich.live import Live
from rich.table import Table

from cogumi_api.meta import GROUP, VERSION, Status
from cogumi_operator import devenv
from cogumi_operator.devcluster import cluster

NAMESPACE = "cogumi-demo"
SAMPLE = devenv.REPO_CRDS / "examples" / "dataset.yaml"


def _table(name: str, status: Status) -> Table:
    table = Table(title=f"Dataset/{name}: {status.phase}")
    for col in ("stage", "phase", "attempts", "metrics"):
        table.add_column(col)
    for st in status.stages:
        shown = ", ".join(f"{k}={v:g}" for k, v in list(st.metrics.items())[:5])
        table.add_row(st.name, st.phase, str(st.attempts), shown)
    return table


def run_demo(state_dir: Path | None, console: Console, timeout_s: float = 600) -> int:
    state = state_dir or devenv.default_state_dir()
    info = devenv.up(state, lambda msg: console.print(f"[cyan]dev[/] {msg}"))
    config.load_kube_config(str(info.kubeconfig))
    core, custom = client.CoreV1Api(), client.CustomObjectsApi()
    try:
        core.create_namespace({"metadata": {"name": NAMESPACE}})
    except ApiException as err:
        if err.status != 409:
            raise
    doc = yaml.safe_load(SAMPLE.read_text())
    name = doc["metadata"]["name"]
    try:
        custom.delete_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "datasets", name)
        while True:  # wait until the previous demo's object is gone, so this run starts fresh
            custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "datasets", name)
            time.sleep(0.3)
    except ApiException as err:
        if err.status != 404:
            raise
    custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "datasets", doc)
    console.print(f"applied {SAMPLE.name} into namespace {NAMESPACE}")
    started = time.monotonic()
    status = Status()
    with Live(_table(name, status), console=console, refresh_per_second=4) as live:
        while time.monotonic() - started < timeout_s:
            obj = custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "datasets", name)
            status = Status.model_validate(obj.get("status") or {})
            live.update(_table(name, status))
            if status.phase in ("Succeeded", "Failed", "GateFailed"):
                break
            time.sleep(0.5)
    console.print(f"finished in {time.monotonic() - started:.1f}s")
    print(cluster.kubectl(info, "get", "cogumi", "-n", NAMESPACE))
    print(yaml.safe_dump({"status": status.wire()}, sort_keys=False))
    print(f"export KUBECONFIG={info.kubeconfig}")
    return 0 if status.phase == "Succeeded" else 1
