"""`cogumi bench`: the pure parts (numbers, sections from the workloads' JSON, tables, the report's shape)
and the workloads' benchmark JSON, without running any server, model or cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil
import pytest
from rich.console import Console

from cogumi_operator import bench, benchkit, benchsuite, cli


def _render(*tables: Any) -> str:
    console = Console(record=True, width=200)
    for t in tables:
        console.print(t)
    return console.export_text()


def test_numbers():
    assert benchkit.percentile([3, 1, 2, 4, 5], 0.5) == 3
    assert benchkit.percentile(list(range(1, 101)), 0.99) == 99
    assert benchkit.ratio(3, 2) == 1.5 and benchkit.ratio(1, 0) is None and benchkit.ratio(None, 2) is None
    assert benchkit.fmt(None) == "—" and benchkit.fmt(1234, "MiB") == "1,234 MiB"
    assert benchkit.fmt(0.12345, "s") == "0.123 s" and benchkit.fmt(123.45) == "123.5"
    faster = benchkit.comparison("tokens/s", 120, 100, better="higher")
    smaller = benchkit.comparison("size", 120, 100, better="lower")
    same = benchkit.comparison("x", 100.5, 100)
    assert faster["ratio"] == 1.2 and benchkit.verdict(faster) == "ours"
    assert benchkit.verdict(smaller) == "peer" and benchkit.verdict(same) == "on par"


def test_machine_header_names_the_machine_and_the_load():
    report = benchkit.new_report(["bench", "operator"])
    m = report["machine"]
    assert m["cores"] >= 1 and m["memoryGiB"] > 0 and m["cpuModel"] and isinstance(m["gpus"], list)
    assert len(report["loadavg"]["start"]) == 3
    report["loadavg"]["end"] = [1.0, 2.0, 3.0]
    text = _render(benchkit.header_table(report))
    assert m["cpuModel"] in text and "GiB" in text and "end 1.0/2.0/3.0" in text
    assert f"{m['cores']} cores" in benchkit.machine_line(m)


def _serving_json() -> dict[str, Any]:
    def row(server: str, tps: float, p50: float, p95: float) -> dict[str, Any]:
        return {"server": server, "model": "m", "tokens_per_s": tps, "latency_p50_s": p50, "latency_p95_s": p95}

    return {"rows": [row("llama.cpp", 100, 1.0, 1.2), row("llama.cpp+lora", 80, 1.2, 1.5),
                     row("cogumi:base", 90, 1.1, 1.3), row("cogumi:math", 88, 1.15, 1.4),
                     row("cogumi routed", 85, 1.2, 1.6)],
            "summary": {"threads": 2, "max_tokens": 64, "prompts": 5, "rounds": 2}}


def test_serving_section_pairs_ours_with_the_peer():
    section = benchsuite.serving_section(_serving_json())
    by = {c["metric"]: c for c in section["comparisons"]}
    assert by["bare: tok/s"]["ratio"] == 0.9 and by["bare: tok/s"]["peerName"] == "llama.cpp"
    assert by["LoRA: tok/s"]["ratio"] == 1.1 and by["LoRA: tok/s"]["peerName"] == "llama.cpp+lora"
    assert by["LoRA: p50 latency"]["better"] == "lower"
    assert by["routed: p95 latency"]["ratio"] == 1.333
    text = _render(*benchkit.section_tables({"target": "serving", "ok": True, "seconds": 3.0,
                                             "loadavg": {"start": [1, 1, 1], "end": [2, 2, 2]}, **section}))
    assert "ours vs peer" in text and "bare: tok/s ↑" in text and "llama.cpp+lora" in text


def test_compression_section_against_plain_llama_cpp():
    mib = 2**20
    rows = [{"artifact": "original (HF, fp32)", "bytes": 540 * mib, "tokenAgreement": 1.0},
            {"artifact": "peer: llama.cpp Q5_K_M of the original", "bytes": 100 * mib, "tokenAgreement": 0.9,
             "seconds": 20},
            {"artifact": "export (GGUF Q5_K_M)", "bytes": 80 * mib, "tokenAgreement": 0.72, "seconds": 30},
            {"artifact": "pack (zstd of the GGUF)", "bytes": 60 * mib, "note": "lossless"},
            {"artifact": "recover (GGUF Q5_K_M)", "bytes": 80 * mib, "tokenAgreement": 0.81}]
    section = benchsuite.compression_section({"rows": rows, "status": {"big": 1}, "machine": {}})
    by = {c["metric"]: c for c in section["comparisons"]}
    assert by["size: prune + AWQ → GGUF"]["ratio"] == 0.8
    assert by["size: that GGUF packed (zstd)"]["ratio"] == 0.6
    assert by["token agreement: prune + AWQ"]["ratio"] == 0.8
    assert by["token agreement: after recovery"]["ratio"] == 0.9
    assert all(c["peerName"] == "llama.cpp Q5_K_M" for c in section["comparisons"])
    figures = {f["name"]: f["value"] for f in section["figures"]}
    assert figures["original / packed"] == 9.0 and "status" not in section["raw"]


def test_demo_times_from_status():
    t0 = "2025-01-01T00:00:00Z"
    obj = {"kind": "Dataset", "metadata": {"namespace": "d", "name": "x", "creationTimestamp": t0},
           "status": {"phase": "Succeeded", "stages": [
               {"name": "ingest", "startTime": "2025-01-01T00:00:01Z", "completionTime": "2025-01-01T00:00:04Z"},
               {"name": "dedup", "startTime": "2025-01-01T00:00:05Z",
                "completionTime": "2025-01-01T00:00:07.500000Z"}]}}
    served = {"kind": "ModelDeployment", "metadata": {"namespace": "d", "name": "m", "creationTimestamp": t0},
              "status": {"phase": "Running", "conditions": [
                  {"type": "Ready", "status": "True", "lastTransitionTime": "2025-01-01T00:00:12Z"}]}}
    times = [benchsuite.resource_times(obj), benchsuite.resource_times(served)]
    assert times[0]["seconds"] == 7.5 and times[0]["stages"] == {"ingest": 3.0, "dedup": 2.5}
    assert times[1]["seconds"] == 12.0 and times[1]["stages"] == {}
    log = "dev starting\nPipeline/mvp Succeeded after 31s\ndemo wall time 40s: control plane 8s, Pipeline 31s\n"
    reported = benchsuite.demo_times(log)
    assert reported == {"applyToDone": 31.0, "controlPlane": 8.0}
    assert benchsuite.demo_times("finished in 12.5s") == {"applyToDone": 12.5}
    section = benchsuite.demo_section(40.04, reported, 0, times)
    figures = {f["name"]: f["value"] for f in section["figures"]}
    assert figures["Dataset/x (Succeeded): apply → done"] == 7.5 and section["raw"]["wallSeconds"] == 40.0
    assert figures["of which apply → done (the demo's own figure)"] == 31.0
    text = _render(*benchkit.section_tables({"target": "demo", "ok": True, **section}))
    assert "stage Jobs: ingest 3s, dedup 2.5s" in text


def test_operator_figures():
    raw = {"resources": 10, "parallel": 2, "withJob": 10, "applySeconds": 1.0, "applyPerSecond": 10.0,
           "p50Seconds": 0.5, "p90Seconds": 0.8, "p99Seconds": 0.9, "maxSeconds": 0.9, "allJobsAfterSeconds": 2.0,
           "throughputPerSecond": 5.0, "operatorRssStartMiB": 100.0, "operatorRssPeakMiB": 150.0,
           "operatorRssEndMiB": 140.0, "operatorCpuSeconds": 1.0, "reconcileIntervalSeconds": 2.0}
    figures = {f["name"]: f["value"] for f in bench.section(raw)["figures"]}
    assert figures["apply → first Job p99"] == 0.9 and figures["operator RSS peak / before"] == 1.5


def test_report_json_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`cogumi bench all` with every benchmark replaced: one JSON file, a section per target, a failure kept
    as a section (the others still run) and the exit code 1."""
    ok = {"figures": [benchkit.figure("f", 1.0, "s")], "comparisons": [benchkit.comparison("c", 2.0, 1.0)], "raw": {}}
    monkeypatch.setattr(bench, "bench_operator", lambda *a, **k: ok)
    monkeypatch.setattr(benchsuite, "bench_serving", lambda *a, **k: ok)
    monkeypatch.setattr(benchsuite, "bench_demo", lambda *a, **k: ok | {"ok": False, "error": "exit 1"})

    def broken(*_: Any, **__: Any) -> dict[str, Any]:
        raise RuntimeError("no llama.cpp here")

    monkeypatch.setattr(benchsuite, "bench_compression", broken)
    out = tmp_path / "report.json"
    assert cli.main(["bench", "all", "--out", str(out), "--count", "3"]) == 1
    report = json.loads(out.read_text())
    assert report["schema"] == benchkit.SCHEMA and report["command"][:3] == ["cogumi", "bench", "all"]
    assert set(report["machine"]) >= {"cpuModel", "cores", "memoryGiB", "gpus"}
    assert len(report["loadavg"]["start"]) == len(report["loadavg"]["end"]) == 3
    assert list(report["results"]) == ["operator", "serving", "compression", "demo"]
    op = report["results"]["operator"]
    assert op["ok"] and op["params"]["count"] == 3 and op["comparisons"][0]["ratio"] == 2.0
    assert set(op) >= {"target", "seconds", "loadavg", "figures", "raw"}
    assert report["results"]["compression"] == {**report["results"]["compression"], "ok": False,
                                                "error": "RuntimeError: no llama.cpp here"}
    demo = report["results"]["demo"]
    assert not demo["ok"] and demo["figures"] and "finishedAt" in report
    text = _render(*benchkit.section_tables(demo))
    assert "FAILED" in text and "exit 1" in text and "demo: figures" in text


def test_serving_bench_reports_latency_percentiles(monkeypatch: pytest.MonkeyPatch):
    from cogumi_workloads.serve import bench as serve_bench

    seconds = iter([0.1 * i for i in range(1, 1000)])
    monkeypatch.setattr(serve_bench, "request", lambda *a: (10, next(seconds), "-"))
    args = type("A", (), {"max_tokens": 8, "rounds": 2})()
    rows = serve_bench.interleaved([("peer", "u", "m"), ("ours", "u", "m")], args)
    assert {r["server"] for r in rows} == {"peer", "ours"}
    for r in rows:
        assert r["requests"] == 2 * len(serve_bench.PROMPTS) and 0 < r["latency_p50_s"] <= r["latency_p95_s"]


def test_a_timed_out_child_takes_its_whole_process_group_along(tmp_path: Path):
    pid_file = tmp_path / "grandchild.pid"
    with pytest.raises(TimeoutError):
        benchkit.run_logged(["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], tmp_path / "log", timeout_s=1)
    grandchild = int(pid_file.read_text())
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
