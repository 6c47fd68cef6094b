"""``python -m cogumi_workloads tasks ...``: the eight domain suites.

``tasks list``
    Domain, split sizes, default generation budget and source of every suite.
``tasks show DOMAIN [--split S] [--limit N]``
    The items as JSON lines.
``tasks export DIR [--domain D]... [--limit N]``
    JSONL files and lm-eval task YAMLs (see :mod:`cogumi_workloads.tasks.export`).
``tasks evaluate --model URI --domain D [--split S] [--limit N] [--batch-size B] [--max-new-tokens T] [--out F]``
    Accuracy of one model on one suite, as JSON (with every completion when ``--out`` is given).
``tasks baseline --model URI [--limit N] [--domain D]... [--out F] [--samples F]``
    Every suite (or those named) on the same model: prints a markdown table (domain, n,
    accuracy, Wilson 95 % interval) and writes the results as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cogumi_api.stage import EXIT_OK, EXIT_PERMANENT, EXIT_RETRYABLE
from cogumi_workloads.runtime.errors import PermanentError, RetryableError
from cogumi_workloads.runtime.logs import JsonLogger, quiet_library_progress
from cogumi_workloads.runtime.uris import atomic_write_text
from cogumi_workloads.tasks.base import SPLITS
from cogumi_workloads.tasks.registry import SUITES, get_suite


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cogumi_workloads tasks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="the suites, their split sizes and sources")
    show = sub.add_parser("show", help="print a split's items as JSON lines")
    show.add_argument("domain", choices=list(SUITES))
    show.add_argument("--split", choices=SPLITS, default="test")
    show.add_argument("--limit", type=int, default=3)
    exp = sub.add_parser("export", help="write JSONL files and lm-eval task YAMLs")
    exp.add_argument("dir", type=Path)
    exp.add_argument("--domain", action="append", choices=list(SUITES), help="repeatable; all by default")
    exp.add_argument("--limit", type=int, help="cap every split at this many items")
    for name, helptext in (("evaluate", "one model on one suite"), ("baseline", "one model on every suite")):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("--model", required=True, help="HF model folder: path, file://, pvc://, s3:// or builtin://")
        cmd.add_argument("--split", choices=SPLITS, default="test")
        cmd.add_argument("--limit", type=int, help="first N items of the split")
        cmd.add_argument("--batch-size", type=int, default=8)
        cmd.add_argument("--max-new-tokens", type=int, help="override every suite's default budget")
        cmd.add_argument("--out", type=Path, help="write the results here as JSON")
        if name == "evaluate":
            cmd.add_argument("--domain", required=True, choices=list(SUITES))
        else:
            cmd.add_argument("--domain", action="append", choices=list(SUITES), help="repeatable; all by default")
            cmd.add_argument("--samples", type=Path, help="write every completion here as JSON lines")
    return parser


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def markdown_table(results: Sequence[Any]) -> str:
    lines = ["| domain | n | accuracy | 95 % interval (Wilson) |", "|---|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r.domain} | {r.n} | {_pct(r.accuracy)} | {_pct(r.ci_low)} – {_pct(r.ci_high)} |")
    return "\n".join(lines)


def _machine() -> dict[str, Any]:
    import torch

    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def _run_models(ns: argparse.Namespace, log: JsonLogger) -> int:
    from cogumi_workloads.tasks.evaluate import evaluate, load_model

    domains = [ns.domain] if ns.action == "evaluate" else (ns.domain or list(SUITES))
    start = time.monotonic()
    lm = load_model(ns.model, log)
    results = [evaluate(lm, d, split=ns.split, limit=ns.limit, batch_size=ns.batch_size,
                        max_new_tokens=ns.max_new_tokens, log=log) for d in domains]
    wall = time.monotonic() - start
    print(markdown_table(results))
    print(f"\nmodel {ns.model}, split {ns.split}, limit {ns.limit}, wall time {wall:.0f} s")
    summary = {"model": ns.model, "split": ns.split, "limit": ns.limit, "wall_seconds": round(wall, 1),
               "machine": _machine(),
               "results": [r.model_dump(exclude={"items"} if ns.action == "baseline" else set()) for r in results]}
    if ns.out:
        atomic_write_text(ns.out, json.dumps(summary, indent=2) + "\n")
    if ns.action == "baseline" and ns.samples:
        rows = [json.dumps({"domain": r.domain, **o.model_dump()}) for r in results for o in r.items]
        atomic_write_text(ns.samples, "\n".join(rows) + "\n")
    return EXIT_OK


def main(argv: Sequence[str]) -> int:
    ns = _parser().parse_args(list(argv))
    quiet_library_progress()
    log = JsonLogger("tasks")
    try:
        if ns.action == "list":
            for domain, cls in SUITES.items():
                sizes = cls.sizes
                print(f"{domain}\ttrain {sizes.train} / validation {sizes.validation} / test {sizes.test}\t"
                      f"max_new_tokens {cls.max_new_tokens}\t{cls.source}")
            return EXIT_OK
        if ns.action == "show":
            for item in get_suite(ns.domain).split(ns.split, ns.limit):
                print(item.model_dump_json())
            return EXIT_OK
        if ns.action == "export":
            from cogumi_workloads.tasks.export import export

            counts = export(ns.dir, ns.domain, ns.limit, log)
            print(json.dumps(counts))
            return EXIT_OK
        return _run_models(ns, log)
    except PermanentError as exc:
        log.error(f"tasks {ns.action} failed", error=str(exc))
        return EXIT_PERMANENT
    except RetryableError as exc:
        log.error(f"tasks {ns.action} failed; retryable", error=str(exc))
        return EXIT_RETRYABLE
