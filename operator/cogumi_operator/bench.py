"""`cogumi bench operator`: many resources applied at once against the local control plane.

Measures, per resource, the time from its create call returning to the operator's first Job
for it being seen on a watch (monotonic clock of this process), and the operator's resident
memory (sampled every 0.2 s). The local node is not started, so Jobs are created but not run.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from kubernetes import client, config, watch
from rich.console import Console

from cogumi_api.meta import GROUP, VERSION
from cogumi_operator import devenv
from cogumi_operator.devcluster.procs import ProcessTable


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_operator(count: int, state_dir: Path, console: Console) -> dict[str, Any]:
    info = devenv.up(state_dir, lambda m: console.print(f"[cyan]dev[/] {m}"), node=False)
    config.load_kube_config(str(info.kubeconfig))
    core, custom, batch = client.CoreV1Api(), client.CustomObjectsApi(), client.BatchV1Api()
    ns = f"bench-{int(time.time())}"
    core.create_namespace({"metadata": {"name": ns}})
    operator = psutil.Process(ProcessTable(state_dir).pid("operator"))
    first_job: dict[str, float] = {}
    rss: list[int] = [operator.memory_info().rss]
    stop = threading.Event()

    def watch_jobs() -> None:
        w = watch.Watch()
        for event in w.stream(batch.list_namespaced_job, ns, timeout_seconds=600):
            name = event["object"].metadata.labels.get(f"{GROUP}/resource")
            if event["type"] == "ADDED" and name and name not in first_job:
                first_job[name] = time.monotonic()
            if stop.is_set() or len(first_job) >= count:
                w.stop()

    def sample_memory() -> None:
        while not stop.is_set():
            rss.append(operator.memory_info().rss)
            time.sleep(0.2)

    threads = [threading.Thread(target=watch_jobs, daemon=True), threading.Thread(target=sample_memory, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(1)  # the watch is established
    created: dict[str, float] = {}
    started = time.monotonic()
    for i in range(count):
        name = f"d{i:05d}"
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, "datasets", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "Dataset", "metadata": {"name": name},
            "spec": {"sources": [{"generator": {"name": "arithmetic", "count": 10}}]}})
        created[name] = time.monotonic()
    apply_s = time.monotonic() - started
    deadline = time.monotonic() + 600
    while len(first_job) < count and time.monotonic() < deadline:
        time.sleep(0.5)
    stop.set()
    latencies = [first_job[n] - created[n] for n in created if n in first_job]
    result = {
        "resources": count, "withJob": len(latencies), "applySeconds": round(apply_s, 1),
        "p50Seconds": round(statistics.median(latencies), 2) if latencies else None,
        "p99Seconds": round(_percentile(latencies, 0.99), 2) if latencies else None,
        "allJobsAfterSeconds": round(max(first_job.values()) - started, 1) if first_job else None,
        "operatorPeakRssMiB": round(max(rss) / 2**20, 1), "operatorStartRssMiB": round(rss[0] / 2**20, 1),
    }
    core.delete_namespace(ns)
    return result
