"""Runs one stage: parse, validate, verify inputs, run, report; maps failures to exit codes."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import BaseModel, ValidationError

from cogumi_api.stage import EXIT_OK, EXIT_PERMANENT, EXIT_RETRYABLE, StageInvocation, StageReport
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.digest import verify
from cogumi_workloads.runtime.errors import PermanentError, RetryableError
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.runtime.report import deliver


def describe_validation(what: str, exc: ValidationError) -> str:
    """A one-line message naming every offending field."""
    problems = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(root)"
        problems.append(f"{where}: {err['msg']}")
    return f"invalid {what}: " + "; ".join(problems)


def load_invocation(spec_path: str | None, spec_env: str | None) -> StageInvocation:
    """The invocation from a JSON file or environment variable; :class:`PermanentError` when unusable."""
    if spec_path is not None:
        try:
            raw = Path(spec_path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PermanentError(f"cannot read the invocation file {spec_path}: {exc}") from exc
    elif spec_env is not None:
        if spec_env not in os.environ:
            raise PermanentError(f"environment variable {spec_env} holding the invocation is not set")
        raw = os.environ[spec_env]
    else:
        raise PermanentError("pass the invocation with --spec PATH or --spec-env VARNAME")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PermanentError(f"the invocation is not valid JSON: {exc}") from exc
    try:
        return StageInvocation.model_validate(data)
    except ValidationError as exc:
        raise PermanentError(describe_validation("StageInvocation", exc)) from exc


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise RetryableError(f"terminated by signal {signum}")


def _prepare(stage_id: str, invocation: StageInvocation, log: JsonLogger, workdir: Path) -> tuple[Any, StageContext]:
    from cogumi_workloads.registry import lookup

    stage = lookup(stage_id)
    expected = f"{invocation.resource.kind.lower()}.{invocation.stage}"
    if expected != stage_id:
        raise PermanentError(f"the CLI was asked for stage {stage_id!r} but the invocation is for {expected!r}")
    try:
        spec: BaseModel = stage.spec.model_validate(invocation.params)
    except ValidationError as exc:
        raise PermanentError(describe_validation(f"params for {invocation.resource.kind}", exc)) from exc
    ctx: StageContext[Any] = StageContext(stage_id=stage_id, invocation=invocation, spec=spec, log=log,
                                          workdir=workdir)
    for name, art in invocation.inputs.items():
        cache = workdir / "inputs" / name
        cache.mkdir(parents=True, exist_ok=True)
        path = uris.fetch(art.uri, cache)
        if art.sha256 is None:
            log.warning("input artifact has no sha256; not verified", artifact=name, uri=art.uri)
        else:
            verify(name, art, path)
            log.info("input artifact verified", artifact=name, uri=art.uri, sha256=art.sha256)
        ctx.inputs[name] = path
    return stage, ctx


def execute(stage_id: str, invocation: StageInvocation, log: JsonLogger) -> int:
    """Run ``stage_id`` for ``invocation``, report the outcome and return the exit code."""
    code, message, retryable = EXIT_OK, "", False
    ctx: StageContext[Any] | None = None
    log.info("stage starting", resource=f"{invocation.resource.namespace}/{invocation.resource.name}",
             kind=invocation.resource.kind, attempt=invocation.attempt)
    with tempfile.TemporaryDirectory(prefix="cogumi-stage-") as work:
        try:
            stage, ctx = _prepare(stage_id, invocation, log, Path(work))
            stage.run(ctx)
            message = ctx.message or f"{stage_id} succeeded"
            log.info("stage succeeded", metrics=ctx.metrics)
        except PermanentError as exc:
            code, message, retryable = EXIT_PERMANENT, str(exc), False
            log.error("stage failed permanently", error=message)
        except RetryableError as exc:
            code, message, retryable = EXIT_RETRYABLE, str(exc), True
            log.error("stage failed; retryable", error=message, traceback=traceback.format_exc())
        except Exception as exc:  # noqa: BLE001 - not swallowed: logged with its traceback, reported, exit 1
            code, retryable = EXIT_RETRYABLE, True
            message = f"unexpected {type(exc).__name__}: {exc}"
            log.error("stage failed unexpectedly; retryable", error=message, traceback=traceback.format_exc())
    ok = code == EXIT_OK
    report = StageReport(
        resource=invocation.resource, stage=invocation.stage, attempt=invocation.attempt,
        outcome="Succeeded" if ok else "Failed", retryable=retryable, message=message,
        metrics=dict(ctx.metrics) if ctx else {}, artifacts=dict(ctx.artifacts) if ctx and ok else {},
        logs_tail=log.tail(),
    )
    try:
        deliver(invocation.result, report)
    except RetryableError as exc:
        log.error("could not deliver the report", error=str(exc), result=invocation.result)
        return EXIT_RETRYABLE
    log.info("report delivered", result=invocation.result, outcome=report.outcome, exitCode=code)
    return code


def run_stage(stage_id: str, spec_path: str | None, spec_env: str | None) -> int:
    """The ``<stage-id> --spec/--spec-env`` command."""
    log = JsonLogger(stage_id)
    try:
        invocation = load_invocation(spec_path, spec_env)
    except PermanentError as exc:
        log.error("cannot parse the invocation; nothing reported", error=str(exc))
        return EXIT_PERMANENT
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return execute(stage_id, invocation, log)
    finally:
        signal.signal(signal.SIGTERM, previous)
