"""Shared parts of `cogumi bench`: the machine header, figures and ratios, tables, the JSON report,
running a workload benchmark as a child process, and a control plane that is torn down afterwards.

A section (one benchmark's result) is a plain dict::

    {"target": "serving", "ok": true, "seconds": 81.2, "loadavg": {"start": [...], "end": [...]},
     "params": {...}, "figures": [{"name", "value", "unit"}],
     "comparisons": [{"metric", "unit", "ours", "peer", "peerName", "ratio", "better"}], "raw": {...}}

``ratio`` is always ours / peer; ``better`` says which direction is good ("higher" or "lower").
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cogumi_operator import devenv
from cogumi_operator.devcluster import ClusterInfo, cluster
from cogumi_operator.devcluster.procs import ProcessTable
from cogumi_operator.settings import cache_dir

SCHEMA = "cogumi.ai/bench/v1"


# --------------------------------------------------------------------------- numbers

def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ratio(ours: float | None, peer: float | None) -> float | None:
    if ours is None or peer is None or peer == 0:
        return None
    return round(ours / peer, 3)


def figure(name: str, value: Any, unit: str = "", detail: str = "") -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit} | ({"detail": detail} if detail else {})


def comparison(metric: str, ours: float | None, peer: float | None, *, unit: str = "", peer_name: str = "peer",
               better: str = "higher") -> dict[str, Any]:
    return {"metric": metric, "unit": unit, "ours": ours, "peer": peer, "peerName": peer_name,
            "ratio": ratio(ours, peer), "better": better}


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.3g}" if abs(value) < 10 else f"{value:,.1f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def verdict(row: dict[str, Any]) -> str:
    """Which side is better by this comparison: "ours", "peer", "on par" (within 2 %) or "" (no ratio)."""
    r = row.get("ratio")
    if r is None:
        return ""
    if abs(r - 1) < 0.02:
        return "on par"
    good = r > 1 if row.get("better", "higher") == "higher" else r < 1
    return "ours" if good else "peer"


# --------------------------------------------------------------------------- the machine

def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _gpus() -> list[str]:
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def _cgroup_cpus() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            return round(int(quota) / int(period), 2)
    return None


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "host": platform.node(), "cpuModel": _cpu_model(), "cores": affinity,
        "physicalCores": psutil.cpu_count(logical=False), "cgroupCpus": _cgroup_cpus(),
        "memoryGiB": round(psutil.virtual_memory().total / 2**30, 1), "gpus": _gpus(),
        "os": platform.platform(), "python": platform.python_version(),
    }


def machine_line(m: dict[str, Any]) -> str:
    gpus = ", ".join(m["gpus"]) or "no GPU"
    return f"{m['cpuModel']}, {m['cores']} cores, {m['memoryGiB']} GiB, {gpus}"


# --------------------------------------------------------------------------- tables

def header_table(report: dict[str, Any]) -> Table:
    m, load = report["machine"], report["loadavg"]
    table = Table(title="cogumi bench: the machine", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("host", f"{m['host']} ({m['os']}, Python {m['python']})")
    table.add_row("CPU", f"{m['cpuModel']}: {m['cores']} cores usable"
                  + (f", cgroup limit {m['cgroupCpus']}" if m.get("cgroupCpus") else ""))
    table.add_row("memory", f"{m['memoryGiB']} GiB")
    table.add_row("GPU", ", ".join(m["gpus"]) or "none")
    table.add_row("load average (1/5/15 min)", f"start {'/'.join(map(str, load['start']))}"
                  + (f", end {'/'.join(map(str, load['end']))}" if load.get("end") else ""))
    return table


def section_tables(section: dict[str, Any]) -> list[Table]:
    target = section["target"]
    load = section.get("loadavg", {})
    caption = (f"{fmt(section.get('seconds'), 's')} wall; load {load.get('start', ['?'])[0]} → "
               f"{load.get('end', ['?'])[0]}")
    tables = []
    if not section.get("ok"):
        table = Table(title=f"{target}: FAILED", caption=caption)
        table.add_column("error", style="red")
        table.add_row(escape(section.get("error", "unknown error")))
        tables.append(table)
    if section.get("figures"):
        details = any(f.get("detail") for f in section["figures"])
        table = Table(title=f"{target}: figures", caption=caption)
        table.add_column("figure")
        table.add_column("value", justify="right")
        if details:
            table.add_column("detail")
        for f in section["figures"]:
            cells = [escape(f["name"]), escape(fmt(f["value"], f.get("unit", "")))]
            table.add_row(*cells, *([escape(f.get("detail", ""))] if details else []))
        tables.append(table)
    if section.get("comparisons"):
        table = Table(title=f"{target}: ours vs peer, same run (↑ higher is better, ↓ lower)", caption=caption)
        for col, justify in (("metric", "left"), ("ours", "right"), ("peer", "right"), ("peer is", "left"),
                             ("ours/peer", "right"), ("better", "left")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for c in section["comparisons"]:
            arrow = "↑" if c["better"] == "higher" else "↓"
            label = f"{c['metric']} ({c['unit']}) {arrow}" if c["unit"] else f"{c['metric']} {arrow}"
            table.add_row(escape(label), fmt(c["ours"]), fmt(c["peer"]), escape(c["peerName"]), fmt(c["ratio"]),
                          verdict(c))
        tables.append(table)
    return tables


def print_report(report: dict[str, Any], console: Console) -> None:
    console.print(header_table(report))
    for section in report["results"].values():
        for table in section_tables(section):
            console.print(table)


# --------------------------------------------------------------------------- the report

def default_out(target: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return cache_dir() / "bench-results" / f"bench-{target}-{stamp}.json"


def new_report(argv: Sequence[str]) -> dict[str, Any]:
    return {"schema": SCHEMA, "command": ["cogumi", *argv], "startedAt": datetime.now(UTC).isoformat(),
            "machine": machine(), "loadavg": {"start": loadavg(), "end": None}, "results": {}}


def write_report(report: dict[str, Any], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    return out


def timed(target: str, params: dict[str, Any], body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one benchmark; its section records the wall time and the load average around it. A failure
    becomes a section with ``ok: false`` and the error, so `all` goes on with the next benchmark."""
    start, load = time.monotonic(), loadavg()
    try:
        section = {"ok": True, **body()}
    except Exception as exc:  # noqa: BLE001 — reported in the table and the JSON
        section = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"target": target, **section, "params": params, "seconds": round(time.monotonic() - start, 1),
            "loadavg": {"start": load, "end": loadavg()}}


# --------------------------------------------------------------------------- child processes

def run_logged(argv: Sequence[str], log: Path, timeout_s: float) -> int:
    """Run a command in its own process group with its output in ``log``. On a timeout (or when this process
    is interrupted) the whole group goes: SIGTERM, then SIGKILL after 30 s, so no server it started lingers."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as fh:
        proc = subprocess.Popen(list(argv), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise TimeoutError(f"{' '.join(argv[:3])} still running after {timeout_s:.0f}s; see {log}") from exc
        finally:
            if proc.poll() is None:
                for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, sig)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=grace)
                        break


def run_json(argv: Sequence[str], json_out: Path, log: Path, console: Console, timeout_s: float) -> dict[str, Any]:
    """Run ``python -m <module> ...`` (the workloads' benchmarks: never imported here) with its output in
    ``log``, then read the JSON it wrote to ``json_out``."""
    json_out.unlink(missing_ok=True)
    console.print(f"[cyan]bench[/] {' '.join(argv)}  (log: {log})")
    rc = run_logged([sys.executable, "-m", *argv], log, timeout_s)
    if rc != 0 or not json_out.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"{argv[0]} exited with {rc}; last lines of {log}:\n{tail}")
    data: dict[str, Any] = json.loads(json_out.read_text())
    return data


@contextlib.contextmanager
def control_plane(state_dir: Path | None, console: Console, *, node: bool,
                  prefix: str) -> Iterator[tuple[Path, Callable[[], ClusterInfo]]]:
    """A state dir for a local control plane, and a function that brings it up. With ``state_dir`` None a
    fresh one is made under the cache and removed afterwards, so leftovers of earlier runs never skew a
    figure; with a given one, an already running cluster is reused and whatever this run started (cluster,
    operator, node) is stopped at the end."""
    fresh = state_dir is None
    if fresh:
        root = cache_dir() / "bench-state"
        root.mkdir(parents=True, exist_ok=True)
        state_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=root))
    assert state_dir is not None
    procs = ProcessTable(state_dir)
    was = {"cluster": cluster.status(state_dir).running, "operator": procs.pid("operator") is not None,
           "node": procs.pid("node") is not None}

    def up() -> ClusterInfo:
        return devenv.up(state_dir, lambda m: console.print(f"[cyan]dev[/] {m}"), node=node)

    try:
        yield state_dir, up
    finally:
        for name, timeout in (("operator", 10), ("node", 15)):
            if not was[name]:
                procs.stop(name, timeout=timeout)
        if not was["cluster"]:
            cluster.stop(state_dir)
        if fresh:
            shutil.rmtree(state_dir, ignore_errors=True)
