"""Command line of the workloads.

``python -m cogumi_workloads <stage-id> (--spec PATH | --spec-env VARNAME)``
    Runs one stage for a :class:`cogumi_api.stage.StageInvocation` given as JSON. Exit 0 on
    success, 1 on a retryable failure, 2 on a permanent one (bad input, failed verification,
    a stage this version does not implement).
``python -m cogumi_workloads unpack SRC_DIR DEST_DIR``
    Verifies and unpacks a ``compressionrun.pack`` artifact (exit 2 when it is corrupt).
``python -m cogumi_workloads list``
    Prints the implemented stage ids, one a line.
``python -m cogumi_workloads models (pull|list|path) ...``
    The builtin models in the local cache (see :mod:`cogumi_workloads.models_cli`).
``python -m cogumi_workloads tasks (list|show|export|evaluate|baseline) ...``
    The eight domain task suites (see :mod:`cogumi_workloads.tasks.cli`).
``python -m cogumi_workloads serve (--config-env VARNAME | --config PATH) [--port 8080] ...``
    Serves a ModelDeployment: KServe v1/v2 + OpenAI routes + UI (see :mod:`cogumi_workloads.serve`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cogumi_api.stage import EXIT_OK, EXIT_PERMANENT, EXIT_RETRYABLE
from cogumi_workloads.runtime.errors import PermanentError, RetryableError
from cogumi_workloads.runtime.logs import JsonLogger


def _stage_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cogumi_workloads", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage_id", help="<kind lowercased>.<stage>, e.g. dataset.ingest")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--spec", metavar="PATH", help="file with the StageInvocation JSON")
    source.add_argument("--spec-env", metavar="VARNAME", help="environment variable with the StageInvocation JSON")
    return parser


def _list() -> int:
    from cogumi_workloads.registry import STAGES

    for stage_id in sorted(STAGES):
        print(f"{stage_id}\t{STAGES[stage_id].summary}")
    return EXIT_OK


def _unpack(args: Sequence[str]) -> int:
    from cogumi_workloads.packing import unpack
    from cogumi_workloads.runtime import uris

    parser = argparse.ArgumentParser(prog="python -m cogumi_workloads unpack",
                                     description="Verify and unpack a packed model folder.")
    parser.add_argument("src", metavar="SRC_DIR", help="the packed folder (path or URI)")
    parser.add_argument("dest", metavar="DEST_DIR", help="where to write the unpacked files (path or URI)")
    ns = parser.parse_args(args)
    log = JsonLogger("unpack")
    try:
        src = uris.local_path(ns.src) if "://" in ns.src else Path(ns.src).resolve()
        dest = uris.local_path(ns.dest) if "://" in ns.dest else Path(ns.dest).resolve()
        files, total = unpack(src, dest, log)
    except PermanentError as exc:
        log.error("unpack refused", error=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PERMANENT
    except (RetryableError, OSError) as exc:
        log.error("unpack failed", error=str(exc))
        return EXIT_RETRYABLE
    log.info("unpacked and verified", files=files, bytes=total, dest=str(dest))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "list":
        return _list()
    if args and args[0] == "unpack":
        return _unpack(args[1:])
    if args and args[0] == "serve":
        from cogumi_workloads.serve.main import main as serve

        return serve(args[1:])
    if args and args[0] == "models":
        from cogumi_workloads.models_cli import main as models_main

        return models_main(args[1:])
    if args and args[0] == "tasks":
        from cogumi_workloads.tasks.cli import main as tasks_main

        return tasks_main(args[1:])
    ns = _stage_parser().parse_args(args)
    from cogumi_workloads.runtime.runner import run_stage

    return run_stage(ns.stage_id, ns.spec, ns.spec_env)
