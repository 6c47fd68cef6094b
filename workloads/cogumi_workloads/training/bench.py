"""``python -m cogumi_workloads.training.bench``: time ``basetraining.train`` (QLoRA vs LoRA) on this machine.

Runs the real stage CLI once per method on the same data and prints a markdown table (device,
method, whether the base was 4-bit, steps, seconds per step, tokens per second, peak GPU memory,
first/last loss), and writes the reports as JSON. ``--random-init`` builds a randomly initialised
model of the given model's configuration (with its tokenizer), which is all a timing needs when
the weights cannot be copied to the machine. Training data: the finance and automation suites'
train splits (our own generators, no downloads), validation from their validation splits.

    python -m cogumi_workloads.training.bench --model DIR [--random-init] --out DIR \\
        [--steps 40] [--batch-size 8] [--seq 512] [--rank 16] [--validation 16] [--methods qlora lora]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DOMAINS = ("finance", "automation")


def random_copy(src: Path, dest: Path) -> Path:
    """A randomly initialised model of ``src``'s configuration, with ``src``'s tokenizer, in ``dest``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(src), dtype=torch.float32)
    model.save_pretrained(dest)
    AutoTokenizer.from_pretrained(src).save_pretrained(dest)
    return dest


def write_data(folder: Path, rows: int, validation: int) -> Path:
    from cogumi_workloads.tasks.registry import get_suite

    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", rows), ("validation", validation)):
        if count <= 0:
            continue
        items = [i for d in DOMAINS for i in get_suite(d).split(split, max(1, count // len(DOMAINS)))]
        with open(folder / f"{split}.jsonl", "w", encoding="utf-8") as out:
            for item in items:
                out.write(json.dumps({"id": item.id, "prompt": item.prompt, "answer": item.answer}) + "\n")
    return folder


def run_method(method: str, model: Path, data: Path, out: Path, ns: argparse.Namespace) -> dict[str, Any]:
    spec = {"baseModel": {"uri": model.as_uri()}, "data": {"uri": data.as_uri()}, "method": method,
            "lora": {"rank": ns.rank},
            "training": {"maxSteps": ns.steps, "batchSize": ns.batch_size, "maxSeqLength": ns.seq}}
    result = out / f"result-{method}.json"
    invocation = {"resource": {"kind": "BaseTraining", "name": f"bench-{method}"}, "stage": "train",
                  "params": spec, "output": (out / method).as_uri(), "result": result.as_uri()}
    path = out / f"invocation-{method}.json"
    path.write_text(json.dumps(invocation))
    with open(out / f"{method}.log", "w") as log:
        code = subprocess.run([sys.executable, "-m", "cogumi_workloads", "basetraining.train", "--spec", str(path)],
                              stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    report: dict[str, Any] = json.loads(result.read_text()) if result.exists() else {}
    return {"method": method, "exitCode": code, "message": report.get("message", ""), **report.get("metrics", {})}


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def table(rows: Sequence[dict[str, Any]], device: str) -> str:
    lines = ["| device | method | 4-bit base | steps | s/step | tokens/s | peak GPU memory | loss first → last |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        peak = f"{r['peakGpuMemoryBytes'] / 2**30:.2f} GiB" if "peakGpuMemoryBytes" in r else "—"
        lines.append(f"| {device} | {r['method']} | {'yes' if r.get('quantized4bit') else 'no'} | "
                     f"{int(r.get('steps', 0))} | {r.get('secondsPerStep', float('nan')):.3f} | "
                     f"{r.get('tokensPerSecond', float('nan')):.0f} | {peak} | "
                     f"{r.get('lossFirst', float('nan')):.3f} → {r.get('lossLast', float('nan')):.3f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cogumi_workloads.training.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="HF model folder")
    parser.add_argument("--random-init", action="store_true", help="time a random model of the same configuration")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--validation", type=int, default=16, help="validation items scored after training (0: none)")
    parser.add_argument("--methods", nargs="+", default=["qlora", "lora"], choices=["qlora", "lora"])
    ns = parser.parse_args(argv)
    ns.out.mkdir(parents=True, exist_ok=True)
    model = random_copy(ns.model, ns.out / "model") if ns.random_init else ns.model
    data = write_data(ns.out / "data", ns.steps * ns.batch_size, ns.validation)
    rows = [run_method(method, model, data, ns.out, ns) for method in ns.methods]
    device = device_name()
    (ns.out / "bench.json").write_text(json.dumps({"device": device, "randomInit": ns.random_init, "rows": rows},
                                                  indent=2))
    print(table(rows, device))
    return 0 if all(r["exitCode"] == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
