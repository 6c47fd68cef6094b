"""The compression benchmark behind docs/compression.md.

``python -m cogumi_workloads.compress.bench [--model URI] [--workdir DIR] [--domains a,b,c] [--items N] ...``

1. Runs one CompressionRun with every stage (prune → quantize → export → pack → recover →
   calibrate) through ``cogumi run -f`` (the operator's engine, stages as local processes), gates
   switched off so every stage is measured; the stage metrics give sizes, gate values, time and
   peak memory.
2. Runs the export stage alone on the original: llama.cpp's plain ``Q5_K_M``, the peer.
3. Builds two GGUF variants for the "how AWQ carries into GGUF" question: the AWQ model
   dequantized at F16 (AWQ alone), and the pruned model at Q5_K_M (AWQ skipped).
4. Measures every artifact alike (:mod:`cogumi_workloads.compress.evaluation`): size, token
   agreement with the original, accuracy on the task suites' test splits.

Writes ``results.json`` and ``results.md`` (the table) into the work folder and prints the table;
``--json OUT`` writes the same JSON to OUT as well. For a quick run: ``--no-variants`` skips step 3 and
``--items 0`` skips the task suites (token agreement only). ``--resume`` reuses what an earlier run
with the same arguments left in the work folder: the chain (when every stage's result is there and
succeeded), the peer's export, the variants and every row already measured with the same measuring
arguments (``rows/``), so a stopped run goes on where it stopped.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from cogumi_workloads.compress import evaluation, gguf
from cogumi_workloads.compress.models import size_bytes
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.logs import JsonLogger, quiet_library_progress

MiB = 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cogumi_workloads.compress.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="builtin://smollm2-135m-instruct")
    p.add_argument("--workdir", type=Path, default=Path(".cogumi/bench/compression"))
    p.add_argument("--domains", default="reasoning,science,math,finance")
    p.add_argument("--items", type=int, default=30, help="test items per suite (0: agreement only)")
    p.add_argument("--prompts", type=int, default=32, help="export.agreementPrompts")
    p.add_argument("--tokens", type=int, default=32, help="export.agreementTokens")
    p.add_argument("--sparsity", type=float, default=0.3)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--calibration-samples", type=int, default=64)
    p.add_argument("--group-size", type=int, default=64)
    p.add_argument("--quant-type", default="Q5_K_M")
    p.add_argument("--hardest", type=int, default=32)
    p.add_argument("--recover-steps", type=int, default=40)
    p.add_argument("--calibrate-samples", type=int, default=120)
    p.add_argument("--no-variants", action="store_true", help="skip the AWQ-alone and AWQ-skipped GGUF variants")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write results.json to this file")
    p.add_argument("--resume", action="store_true",
                   help="reuse the chain, peer, variants and measured rows an earlier run with the same arguments "
                        "left in --workdir")
    return p


def manifest(ns: argparse.Namespace) -> dict[str, Any]:
    return {"apiVersion": "cogumi.ai/v1alpha1", "kind": "CompressionRun", "metadata": {"name": "bench"}, "spec": {
        "model": {"uri": ns.model}, "gates": [],
        "prune": {"method": "sparsegpt", "sparsity": ns.sparsity, "steps": ns.steps,
                  "calibrationSamples": ns.calibration_samples},
        "quantize": {"groupSize": ns.group_size, "calibrationSamples": ns.calibration_samples},
        "export": {"quantType": ns.quant_type, "agreementPrompts": ns.prompts, "agreementTokens": ns.tokens},
        "recover": {"hardestExamples": ns.hardest, "steps": ns.recover_steps},
        "calibrate": {"samples": ns.calibrate_samples}}}


def chain_from_results(workdir: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The status of an earlier chain in ``workdir``, rebuilt from its stage results, or None.

    None unless ``workdir/compressionrun.yaml`` is ``wanted`` and every stage of the spec has a
    succeeded result in ``workdir/run/results`` (the last attempt of each counts).
    """
    from cogumi_api.compression import COMPRESSION_ORDER

    path = workdir / "compressionrun.yaml"
    if not path.is_file() or yaml.safe_load(path.read_text()) != wanted:
        return None
    latest: dict[str, dict[str, Any]] = {}
    for result in sorted((workdir / "run" / "results").glob("*.json")):
        report = json.loads(result.read_text())
        name = report.get("stage")
        if name and report.get("attempt", 0) >= latest.get(name, {}).get("attempt", 0):
            latest[name] = report
    names = wanted["spec"].get("stages", list(COMPRESSION_ORDER))
    if any(latest.get(n, {}).get("outcome") != "Succeeded" for n in names):
        return None
    return {"phase": "Succeeded", "resumed": True,
            "stages": [{"name": n, "phase": "Succeeded", "metrics": latest[n].get("metrics", {}),
                        "artifacts": latest[n].get("artifacts", {}), "message": latest[n].get("message", "")}
                       for n in COMPRESSION_ORDER if n in names]}


def run_chain(ns: argparse.Namespace, log: JsonLogger) -> dict[str, Any]:
    folder = ns.workdir / "run"
    path = ns.workdir / "compressionrun.yaml"
    if ns.resume:
        status = chain_from_results(ns.workdir, manifest(ns))
        if status is not None:
            log.info("reusing the chain of an earlier run", folder=str(folder))
            return status
    path.write_text(yaml.safe_dump(manifest(ns), sort_keys=False))
    log.info("running the chain", manifest=str(path))
    proc = subprocess.run([sys.executable, "-m", "cogumi_operator.cli", "run", "-f", str(path), "--workdir",
                           str(folder)], capture_output=True, text=True, check=False)
    (ns.workdir / "run.log").write_text(proc.stderr)
    status: dict[str, Any] = yaml.safe_load(proc.stdout)["status"]
    if status["phase"] != "Succeeded":
        raise SystemExit(f"the chain ended {status['phase']}: see {ns.workdir / 'run.log'} and {folder}/logs")
    return status


def run_peer(ns: argparse.Namespace, log: JsonLogger) -> dict[str, Any]:
    out = ns.workdir / "peer"
    out.mkdir(parents=True, exist_ok=True)
    spec = manifest(ns)["spec"] | {"stages": ["export"]}
    invocation = {"resource": {"kind": "CompressionRun", "name": "peer"}, "stage": "export", "params": spec,
                  "output": out.as_uri(), "result": (out / "result.json").as_uri()}
    if ns.resume and (out / "invocation.json").is_file() and (out / "result.json").is_file():
        earlier: dict[str, Any] = json.loads((out / "result.json").read_text())
        if json.loads((out / "invocation.json").read_text()) == invocation and earlier.get("outcome") == "Succeeded":
            log.info("reusing the peer of an earlier run", folder=str(out))
            return earlier
    (out / "invocation.json").write_text(json.dumps(invocation))
    log.info("exporting the peer (plain llama.cpp of the original)", quantType=ns.quant_type)
    proc = subprocess.run([sys.executable, "-m", "cogumi_workloads", "compressionrun.export", "--spec",
                           str(out / "invocation.json")], capture_output=True, text=True, check=False)
    (out / "export.log").write_text(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"the peer export failed: see {out / 'export.log'}")
    report: dict[str, Any] = json.loads((out / "result.json").read_text())
    return report


def variants(status: dict[str, Any], scratch: Path, log: JsonLogger) -> dict[str, Path]:
    """AWQ alone at F16 (dequantized) and prune → Q5_K_M without AWQ."""
    from cogumi_workloads.compress.gguf import export_folder

    stages = {s["name"]: s for s in status["stages"]}
    out = {"awq-f16": scratch / "awq-f16.gguf", "prune-q5km": scratch / "prune-Q5_K_M.gguf"}
    sources = {"awq-f16": (stages["quantize"]["artifacts"]["model"]["uri"], "F16"),
               "prune-q5km": (stages["prune"]["artifacts"]["model"]["uri"], "Q5_K_M")}
    for key, (uri, qtype) in sources.items():
        if not out[key].exists():
            export_folder(uris.local_path(uri), out[key], qtype, scratch / f"tmp-{key}", log)
    return out


def _row_key(name: str, path: Path | None, size: float, ns: argparse.Namespace) -> dict[str, Any]:
    """What a measured row depends on: the artifact (name, size, modification time) and the measuring arguments."""
    mtime = path.stat().st_mtime if path is not None and path.exists() else None
    return {"artifact": name, "bytes": size, "mtime": mtime, "items": ns.items, "domains": ns.domains,
            "prompts": ns.prompts, "tokens": ns.tokens}


def _measure_row(name: str, path: Path | None, size: float, ref: Any, original: Path, ns: argparse.Namespace,
                 stage: dict[str, Any] | None = None, note: str = "", *, log: JsonLogger) -> dict[str, Any]:
    """One row of the table; with ``--resume`` a row measured earlier with the same key is read back."""
    key = _row_key(name, path, size, ns)
    cache = ns.workdir / "rows" / (hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16] + ".json")
    if ns.resume and cache.is_file():
        log.info("reusing a row measured earlier", artifact=name, file=str(cache))
        return dict(json.loads(cache.read_text()))
    row: dict[str, Any] = {"artifact": name, "bytes": size, "note": note}
    if path is not None:
        row["tokenAgreement"] = evaluation.agreement(path, ref)
    if path is not None and ns.items > 0:
        row["accuracy"] = {s.domain: [s.correct, s.n, s.ci] for s in
                           evaluation.accuracy(path, original, ns.domains.split(","), ns.items, log)}
    if stage is not None:
        metrics = stage.get("metrics", {})
        row.update(peakRssBytes=metrics.get("peakRssBytes"), seconds=metrics.get("seconds"))
    log.info("measured", **{k: v for k, v in row.items() if k != "accuracy"})
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(row, default=str))
    return row


def measure_all(ns: argparse.Namespace, status: dict[str, Any], peer: dict[str, Any],
                extra: dict[str, Path] | None, log: JsonLogger) -> list[dict[str, Any]]:
    original = uris.local_path(ns.model)
    stages = {s["name"]: s for s in status["stages"]}

    def art(stage: str, name: str) -> Path:
        return uris.local_path(stages[stage]["artifacts"][name]["uri"])

    ref = evaluation.held_out(original, ns.prompts, ns.tokens, ns.workdir)
    _row = functools.partial(_measure_row, log=log)
    peer_gguf = uris.local_path(peer["artifacts"]["gguf"]["uri"])
    rows = [
        _row("original (HF, fp32)", original, size_bytes(original), ref, original, ns),
        _row(f"peer: llama.cpp {ns.quant_type} of the original", peer_gguf, size_bytes(peer_gguf), ref, original,
             ns, {"metrics": peer["metrics"]}),
        _row("prune (HF, sparse)", art("prune", "model"), size_bytes(art("prune", "model")), ref, original, ns,
             stages["prune"]),
        _row("quantize (HF, AWQ W4A16)", art("quantize", "model"), size_bytes(art("quantize", "model")), ref,
             original, ns, stages["quantize"]),
        _row(f"export (GGUF {ns.quant_type})", art("export", "gguf"), size_bytes(art("export", "gguf")), ref,
             original, ns, stages["export"]),
        _row("pack (zstd of the GGUF)", None, size_bytes(art("pack", "packed")), ref, original, ns, stages["pack"],
             "lossless: quality as export"),
        _row("recover (HF, LoRA merged, W4A16)", art("recover", "model"), size_bytes(art("recover", "model")), ref,
             original, ns, stages["recover"]),
        _row(f"recover (GGUF {ns.quant_type})", art("recover", "gguf"), size_bytes(art("recover", "gguf")), ref,
             original, ns),
        _row("calibrate (JSON)", None, size_bytes(art("calibrate", "calibration")), ref, original, ns,
             stages["calibrate"], "confidence only: weights unchanged"),
    ]
    if extra is None:
        return rows
    return [
        *rows,
        _row("variant: AWQ alone, dequantized F16 GGUF", extra["awq-f16"], size_bytes(extra["awq-f16"]), ref,
             original, ns),
        _row("variant: prune → Q5_K_M, AWQ skipped", extra["prune-q5km"], size_bytes(extra["prune-q5km"]), ref,
             original, ns),
    ]


def table(rows: Sequence[dict[str, Any]], domains: Sequence[str]) -> str:
    head = ["artifact", "size MiB", "token agreement", *domains, "stage peak RSS MiB", "stage s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        acc = r.get("accuracy") or {}
        cells = [r["artifact"], f"{r['bytes'] / MiB:.1f}",
                 f"{r['tokenAgreement']:.3f}" if "tokenAgreement" in r else r.get("note", ""),
                 *[f"{acc[d][0]}/{acc[d][1]}" if d in acc else "" for d in domains],
                 f"{r['peakRssBytes'] / MiB:.0f}" if r.get("peakRssBytes") else "",
                 f"{r['seconds']:.0f}" if r.get("seconds") else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    quiet_library_progress()
    ns = _parser().parse_args(argv)
    ns.workdir = ns.workdir.resolve()
    ns.workdir.mkdir(parents=True, exist_ok=True)
    log = JsonLogger("bench")
    start = time.monotonic()
    status = run_chain(ns, log)
    peer = run_peer(ns, log)
    extra = None if ns.no_variants else variants(status, ns.workdir / "variants", log)
    rows = measure_all(ns, status, peer, extra, log)
    domains = ns.domains.split(",")
    text = table(rows, domains)
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
               "llamaCppPython": gguf.llama_cpp_version(), "seconds": round(time.monotonic() - start)}
    results = json.dumps({"args": {k: str(v) for k, v in vars(ns).items()}, "machine": machine, "status": status,
                          "peer": peer, "rows": rows}, indent=1, default=str)
    (ns.workdir / "results.json").write_text(results)
    if ns.json:
        ns.json.parent.mkdir(parents=True, exist_ok=True)
        ns.json.write_text(results)
    (ns.workdir / "results.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
