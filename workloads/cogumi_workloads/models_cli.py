"""``python -m cogumi_workloads models (pull|list|path)``: the builtin models in the local cache.

``models pull [--only NAME]... [--verify]``
    Materialises every builtin model (or only those named) under
    ``${COGUMI_CACHE_DIR:-~/.cache/cogumi}/models/<name>-<version>/``. A model already present
    passes a cheap check (sizes against its marker) and is left alone; ``--verify`` re-hashes
    every file and rebuilds what does not match. Exit 0 when all are ready, 2 on a permanent
    problem (a missing package, a hash mismatch), 1 on a retryable one (the network).
``models list``
    Name, version, whether it is materialised, and the source of every builtin model.
``models path NAME``
    Prints the model's folder (pulling it first when needed).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from cogumi_api.stage import EXIT_OK, EXIT_PERMANENT, EXIT_RETRYABLE
from cogumi_workloads.assets.models import MODELS, model_asset, pull
from cogumi_workloads.assets.store import problem
from cogumi_workloads.runtime.errors import PermanentError, RetryableError
from cogumi_workloads.runtime.logs import JsonLogger, quiet_library_progress


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cogumi_workloads models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    pull_p = sub.add_parser("pull", help="materialise the builtin models into the cache")
    pull_p.add_argument("--only", action="append", choices=sorted(MODELS), metavar="NAME",
                        help=f"pull only this model (repeatable): {', '.join(sorted(MODELS))}")
    pull_p.add_argument("--verify", action="store_true", help="re-hash every file; rebuild what does not match")
    sub.add_parser("list", help="list the builtin models and whether they are materialised")
    path_p = sub.add_parser("path", help="print a model's folder, pulling it first when needed")
    path_p.add_argument("name", choices=sorted(MODELS))
    return parser


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def main(argv: Sequence[str]) -> int:
    ns = _parser().parse_args(list(argv))
    quiet_library_progress()
    log = JsonLogger("models")
    if ns.action == "list":
        for name in sorted(MODELS):
            asset = MODELS[name]
            state = problem(asset.path(), full=False) or "ready"
            print(f"{name}\t{asset.version}\t{state}\t{asset.source}")
        return EXIT_OK
    try:
        if ns.action == "path":
            print(pull(ns.name, log=log).path)
            return EXIT_OK
        for name in ns.only or sorted(MODELS):
            model_asset(name)
            result = pull(name, full=ns.verify, log=log)
            print(f"{name}\t{result.action}\t{result.seconds:.1f}s\t{_human(result.bytes)}\t{result.path}")
    except PermanentError as exc:
        log.error("models pull failed", error=str(exc))
        return EXIT_PERMANENT
    except RetryableError as exc:
        log.error("models pull failed; retryable", error=str(exc))
        return EXIT_RETRYABLE
    return EXIT_OK
