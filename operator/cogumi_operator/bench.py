"""`cogumi bench operator`: many resources applied at once against the local control plane.

Measures, per resource, the time from its create call returning to the operator's first Job for it
being seen on a watch (started before the first create, from the namespace's resourceVersion, so no
event is missed; monotonic clock of this process), the create throughput, the operator's throughput
(resources that got their first Job per second, from the first create to the last first Job), and the
operator's resident memory (sampled every 0.2 s) and CPU time. Creates go through ``parallel``
threads. The local node is not started, so Jobs are created but not run (unless the given state dir
already runs one).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
from kubernetes import client, config, watch
from rich.console import Console

from cogumi_api.meta import GROUP, VERSION
from cogumi_operator import benchkit
from cogumi_operator.devcluster.procs import ProcessTable

MiB = 2**20


def _api(kubeconfig: Path, pool: int) -> client.ApiClient:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    cfg.connection_pool_maxsize = pool
    return client.ApiClient(cfg)


def _dataset(name: str) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Dataset", "metadata": {"name": name},
            "spec": {"sources": [{"generator": {"name": "arithmetic", "count": 10}}]}}


def measure(count: int, state_dir: Path, kubeconfig: Path, parallel: int = 8,
            timeout_s: float = 600) -> dict[str, Any]:
    """The raw figures of one run against a running control plane and operator."""
    api = _api(kubeconfig, parallel + 4)
    core, custom, batch = client.CoreV1Api(api), client.CustomObjectsApi(api), client.BatchV1Api(api)
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": ns}})
    operator = psutil.Process(ProcessTable(state_dir).pid("operator"))
    cpu_before = sum(operator.cpu_times()[:2])
    first_job: dict[str, float] = {}
    rss: list[int] = [operator.memory_info().rss]
    stop = threading.Event()
    since = batch.list_namespaced_job(ns).metadata.resource_version

    def watch_jobs() -> None:
        w = watch.Watch()
        for event in w.stream(batch.list_namespaced_job, ns, resource_version=since, timeout_seconds=int(timeout_s)):
            name = (event["object"].metadata.labels or {}).get(f"{GROUP}/resource")
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
    created: dict[str, float] = {}

    def create(i: int) -> None:
        name = f"d{i:05d}"
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, "datasets", _dataset(name))
        created[name] = time.monotonic()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(create, range(count)))
    apply_s = time.monotonic() - started
    deadline = time.monotonic() + timeout_s
    while len(first_job) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    rss.append(operator.memory_info().rss)
    cpu_s = sum(operator.cpu_times()[:2]) - cpu_before
    core.delete_namespace(ns)  # no wait: a fresh control plane is removed as a whole afterwards
    latencies = [first_job[n] - created[n] for n in created if n in first_job]
    all_jobs_s = max(first_job.values()) - started if first_job else None
    return {
        "resources": count, "parallel": parallel, "withJob": len(latencies), "applySeconds": round(apply_s, 2),
        "applyPerSecond": round(count / apply_s, 1) if apply_s else None,
        "p50Seconds": round(statistics.median(latencies), 3) if latencies else None,
        "p90Seconds": round(benchkit.percentile(latencies, 0.90), 3) if latencies else None,
        "p99Seconds": round(benchkit.percentile(latencies, 0.99), 3) if latencies else None,
        "maxSeconds": round(max(latencies), 3) if latencies else None,
        "allJobsAfterSeconds": round(all_jobs_s, 2) if all_jobs_s else None,
        "throughputPerSecond": round(len(latencies) / all_jobs_s, 1) if all_jobs_s else None,
        "operatorRssStartMiB": round(rss[0] / MiB, 1), "operatorRssPeakMiB": round(max(rss) / MiB, 1),
        "operatorRssEndMiB": round(rss[-1] / MiB, 1), "operatorCpuSeconds": round(cpu_s, 1),
        "reconcileIntervalSeconds": float(os.environ.get("COGUMI_RECONCILE_INTERVAL", "2.0")),
    }


def section(raw: dict[str, Any]) -> dict[str, Any]:
    """Figures for the table. The operator has no peer in the same run: its comparisons are left empty."""
    f = benchkit.figure
    figures = [
        f("resources applied at once", raw["resources"]), f("parallel create threads", raw["parallel"]),
        f("resources that got a Job", raw["withJob"]),
        f("apply: all creates returned after", raw["applySeconds"], "s"),
        f("apply rate", raw["applyPerSecond"], "resources/s"),
        f("apply → first Job p50", raw["p50Seconds"], "s"), f("apply → first Job p90", raw["p90Seconds"], "s"),
        f("apply → first Job p99", raw["p99Seconds"], "s"), f("apply → first Job max", raw["maxSeconds"], "s"),
        f("every resource has a Job after", raw["allJobsAfterSeconds"], "s"),
        f("operator throughput", raw["throughputPerSecond"], "resources/s"),
        f("operator RSS before", raw["operatorRssStartMiB"], "MiB"),
        f("operator RSS peak", raw["operatorRssPeakMiB"], "MiB"),
        f("operator RSS peak / before", benchkit.ratio(raw["operatorRssPeakMiB"], raw["operatorRssStartMiB"]), "×"),
        f("operator CPU time", raw["operatorCpuSeconds"], "s"),
        f("reconcile interval", raw["reconcileIntervalSeconds"], "s"),
    ]
    return {"figures": figures, "comparisons": [], "raw": raw}


def bench_operator(count: int, state_dir: Path | None, console: Console, parallel: int = 8,
                   timeout_s: float = 600) -> dict[str, Any]:
    """Bring up (or reuse) a control plane with the operator and no node, measure, tear down what it started."""
    with benchkit.control_plane(state_dir, console, node=False, prefix="operator") as (state, up):
        info = up()
        console.print(f"[cyan]bench[/] applying {count} Datasets with {parallel} threads")
        raw = measure(count, state, info.kubeconfig, parallel, timeout_s)
    return section(raw)
