"""`cogumi bench serving|compression|demo|all`: the workloads' benchmarks run as child processes (the
operator never imports the workloads), their JSON turned into figures and ours/peer ratios, and the
demo timed end to end with per-resource times read back from the control plane.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config
from rich.console import Console

from cogumi_api.meta import GROUP, VERSION
from cogumi_api.registry import KINDS
from cogumi_operator import benchkit
from cogumi_operator.settings import cache_dir

TARGETS = ("operator", "serving", "compression", "demo")


# --------------------------------------------------------------------------- serving

def serving_section(data: dict[str, Any]) -> dict[str, Any]:
    """Ours vs llama-cpp-python's server on the same GGUF: bare, with one LoRA, and routed vs bare."""
    rows = {r["server"]: r for r in data["rows"]}
    domain = next(name for name in rows if name.startswith("cogumi:") and name != "cogumi:base")
    pairs = (("bare", "cogumi:base", "llama.cpp"), ("LoRA", domain, "llama.cpp+lora"),
             ("routed", "cogumi routed", "llama.cpp"))  # routed: the router picks the LoRA; peer: the bare model
    comparisons = []
    for label, ours, peer in pairs:
        o, p = rows[ours], rows[peer]
        comparisons += [
            benchkit.comparison(f"{label}: tok/s", o["tokens_per_s"], p["tokens_per_s"], peer_name=peer,
                                better="higher"),
            benchkit.comparison(f"{label}: p50 latency", o.get("latency_p50_s"), p.get("latency_p50_s"), unit="s",
                                peer_name=peer, better="lower"),
            benchkit.comparison(f"{label}: p95 latency", o.get("latency_p95_s"), p.get("latency_p95_s"), unit="s",
                                peer_name=peer, better="lower"),
        ]
    s = data["summary"]
    figures = [benchkit.figure("prompts × measured rounds", f"{s['prompts']} × {s['rounds']}"),
               benchkit.figure("max completion tokens", s["max_tokens"]),
               benchkit.figure("threads per server", s["threads"]),
               benchkit.figure("requests in flight", 1)]
    return {"figures": figures, "comparisons": comparisons, "raw": data}


def bench_serving(args: argparse.Namespace, work: Path, console: Console) -> dict[str, Any]:
    out = work / "serving.json"
    argv = ["cogumi_workloads.serve.bench", "--max-tokens", str(args.max_tokens), "--rounds", str(args.rounds),
            "--threads", str(args.threads), "--json", str(out)]
    if args.gguf:
        argv += ["--gguf", str(args.gguf)]
    return serving_section(benchkit.run_json(argv, out, work / "serving.log", console, args.timeout))


# --------------------------------------------------------------------------- compression

def _find(rows: list[dict[str, Any]], prefix: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["artifact"].startswith(prefix)), None)


def compression_section(data: dict[str, Any]) -> dict[str, Any]:
    """Our chain's artifacts vs llama.cpp's plain quantization of the original, same type, same prompts."""
    rows: list[dict[str, Any]] = data["rows"]
    peer, original = _find(rows, "peer:"), _find(rows, "original")
    if peer is None:
        raise ValueError("the compression benchmark reported no peer row")
    qtype = peer["artifact"].split()[2]
    mib = 2**20

    def size(row: dict[str, Any] | None) -> float | None:
        return round(row["bytes"] / mib, 2) if row else None

    export, pack, recover = _find(rows, "export"), _find(rows, "pack"), _find(rows, "recover (GGUF")
    name = f"llama.cpp {qtype}"
    comparisons = [
        benchkit.comparison("size: prune + AWQ → GGUF", size(export), size(peer), unit="MiB", peer_name=name,
                            better="lower"),
        benchkit.comparison("size: that GGUF packed (zstd)", size(pack), size(peer), unit="MiB", peer_name=name,
                            better="lower"),
        benchkit.comparison("size: after recovery → GGUF", size(recover), size(peer), unit="MiB", peer_name=name,
                            better="lower"),
        benchkit.comparison("token agreement: prune + AWQ", export.get("tokenAgreement") if export else None,
                            peer.get("tokenAgreement"), peer_name=name, better="higher"),
        benchkit.comparison("token agreement: after recovery", recover.get("tokenAgreement") if recover else None,
                            peer.get("tokenAgreement"), peer_name=name, better="higher"),
    ]
    figures = [benchkit.figure("original (HF fp32)", size(original), "MiB"),
               benchkit.figure("original / packed", benchkit.ratio(size(original), size(pack)), "×"),
               benchkit.figure("original / peer", benchkit.ratio(size(original), size(peer)), "×")]
    for row in rows:
        if row.get("seconds"):
            figures.append(benchkit.figure(f"stage time: {row['artifact']}", row["seconds"], "s"))
    slim = {k: v for k, v in data.items() if k != "status"}  # the full status stays in the workdir
    return {"figures": figures, "comparisons": comparisons, "raw": slim}


def bench_compression(args: argparse.Namespace, work: Path, console: Console) -> dict[str, Any]:
    workdir = Path(args.compression_workdir or cache_dir() / "bench-work" / "compression")
    if workdir.exists() and not args.compression_workdir:
        shutil.rmtree(workdir)  # no artifact of an earlier run mixes with this one
    out = work / "compression.json"
    argv = ["cogumi_workloads.compress.bench", "--workdir", str(workdir), "--items", str(args.items),
            "--prompts", str(args.prompts), "--tokens", str(args.tokens), "--steps", str(args.prune_steps),
            "--calibration-samples", str(args.calibration_samples), "--hardest", str(args.hardest),
            "--recover-steps", str(args.recover_steps), "--calibrate-samples", str(args.calibrate_samples),
            "--quant-type", args.quant_type, "--no-variants", "--json", str(out)]
    if args.model:
        argv += ["--model", args.model]
    return compression_section(benchkit.run_json(argv, out, work / "compression.log", console, args.timeout))


# --------------------------------------------------------------------------- demo

def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def resource_times(obj: dict[str, Any]) -> dict[str, Any]:
    """Per-resource times from its status: apply → done, and each stage's Job time."""
    meta, status = obj["metadata"], obj.get("status") or {}
    created = _ts(meta.get("creationTimestamp"))
    stages = {s["name"]: round((_ts(s["completionTime"]) - _ts(s["startTime"])).total_seconds(), 1)  # type: ignore[operator]
              for s in status.get("stages", []) if s.get("startTime") and s.get("completionTime")}
    ends = [_ts(s.get("completionTime")) for s in status.get("stages", []) if s.get("completionTime")]
    ends += [_ts(c.get("lastTransitionTime")) for c in status.get("conditions", [])
             if c.get("type") == "Ready" and c.get("status") == "True"]
    done = max((e for e in ends if e), default=None)
    return {"kind": obj["kind"], "namespace": meta["namespace"], "name": meta["name"], "phase": status.get("phase"),
            "seconds": round((done - created).total_seconds(), 1) if done and created else None, "stages": stages}


def demo_resources(kubeconfig: Path, since: float) -> list[dict[str, Any]]:
    """Every cogumi resource created since ``since`` (epoch seconds), in creation order."""
    api = config.new_client_from_config(str(kubeconfig))
    custom = client.CustomObjectsApi(api)
    found = []
    for info in KINDS:
        if not info.has_status:
            continue
        for obj in custom.list_cluster_custom_object(GROUP, VERSION, info.plural)["items"]:
            created = _ts(obj["metadata"].get("creationTimestamp"))
            if created and created.timestamp() >= since - 2:
                found.append((created, resource_times(obj)))
    return [r for _, r in sorted(found, key=lambda x: (x[0], x[1]["name"]))]


def demo_times(log: str) -> dict[str, float]:
    """What the demo says about its own time: apply → done (`Kind/name Phase after Ns`, or `finished in Ns`),
    and the control plane's start (`control plane Ns`)."""
    found = {}
    for key, pattern in (("applyToDone", r"(?:finished in|\S+/\S+ \w+ after) ([0-9.]+)\s*s\b"),
                         ("controlPlane", r"control plane ([0-9.]+)\s*s\b")):
        hits = re.findall(pattern, log)
        if hits:
            found[key] = float(hits[-1])
    return found


def demo_section(wall: float, reported: dict[str, float], rc: int, resources: list[dict[str, Any]]) -> dict[str, Any]:
    figures = [benchkit.figure("demo wall time (command start → exit)", round(wall, 1), "s"),
               benchkit.figure("of which the control plane coming up", reported.get("controlPlane"), "s"),
               benchkit.figure("of which apply → done (the demo's own figure)", reported.get("applyToDone"), "s"),
               benchkit.figure("exit code", rc)]
    for r in resources:
        stages = ", ".join(f"{k} {v:g}s" for k, v in r["stages"].items())
        figures.append(benchkit.figure(f"{r['kind']}/{r['name']} ({r['phase']}): apply → done", r["seconds"], "s",
                                       f"stage Jobs: {stages}" if stages else ""))
    return {"figures": figures, "comparisons": [], "raw": {"wallSeconds": round(wall, 1), "demoReported": reported,
                                                           "exitCode": rc, "resources": resources}}


def bench_demo(args: argparse.Namespace, work: Path, console: Console) -> dict[str, Any]:
    given = Path(args.state_dir) if args.state_dir else None
    with benchkit.control_plane(given, console, node=True, prefix="demo") as (state, _):
        log = work / "demo.log"
        extra = ["--sample", args.demo_sample] if args.demo_sample else []
        console.print(f"[cyan]bench[/] cogumi demo --state-dir {state} {' '.join(extra)} (log: {log})")
        since, start = time.time(), time.monotonic()
        rc = benchkit.run_logged([sys.executable, "-m", "cogumi_operator.cli", "demo", "--state-dir", str(state),
                                  *extra], log, args.timeout)
        wall = time.monotonic() - start
        text = log.read_text(errors="replace")
        resources = demo_resources(state / "kubeconfig", since) if (state / "kubeconfig").exists() else []
    section = demo_section(wall, demo_times(text), rc, resources)
    if rc != 0:  # the times stay in the report, but a failed demo is no figure to quote
        tail = "\n".join(text.splitlines()[-10:])
        section |= {"ok": False, "error": f"cogumi demo exited with {rc}; last lines of {log}:\n{tail}"}
    return section


# --------------------------------------------------------------------------- the command

def params(target: str, args: argparse.Namespace) -> dict[str, Any]:
    keys = {"operator": ("count", "parallel", "state_dir"), "serving": ("max_tokens", "rounds", "threads", "gguf"),
            "compression": ("model", "quant_type", "items", "prompts", "tokens", "prune_steps", "calibration_samples",
                            "hardest", "recover_steps", "calibrate_samples"),
            "demo": ("demo_sample", "state_dir")}[target]
    return {k: getattr(args, k) for k in keys} | {"timeout": args.timeout}


def run(args: argparse.Namespace, argv: list[str], console: Console) -> int:
    """Clean-up (servers, control planes) runs on SIGTERM too: it becomes SystemExit while benchmarks run."""
    if threading.current_thread() is not threading.main_thread():
        return _run(args, argv, console)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return _run(args, argv, console)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace, argv: list[str], console: Console) -> int:
    from cogumi_operator.bench import bench_operator

    targets = TARGETS if args.target == "all" else (args.target,)
    out = Path(args.out) if args.out else benchkit.default_out(args.target)
    work = out.with_suffix("")  # logs and the workloads' JSON next to the report
    report = benchkit.new_report(argv)
    console.print(benchkit.header_table(report))
    bodies = {
        "operator": lambda: bench_operator(args.count, Path(args.state_dir) if args.state_dir else None, console,
                                           args.parallel, args.timeout),
        "serving": lambda: bench_serving(args, work, console),
        "compression": lambda: bench_compression(args, work, console),
        "demo": lambda: bench_demo(args, work, console),
    }
    for target in targets:
        section = benchkit.timed(target, params(target, args), bodies[target])
        report["results"][target] = section
        for table in benchkit.section_tables(section):
            console.print(table)
        benchkit.write_report(report, out)  # after each one: `all` keeps what it measured if stopped
    report["loadavg"]["end"] = benchkit.loadavg()
    report["finishedAt"] = datetime.now(UTC).isoformat()
    benchkit.write_report(report, out)
    console.print(f"machine: {benchkit.machine_line(report['machine'])}; load {report['loadavg']['start'][0]} → "
                  f"{report['loadavg']['end'][0]}")
    console.print(f"wrote {out}")
    return 0 if all(s["ok"] for s in report["results"].values()) else 1
