"""`cogumi run`: a resource's stages as local processes, driven by the operator's own engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cogumi_api.meta import Status
from cogumi_api.registry import BY_KIND
from cogumi_api.stage import StageReport
from cogumi_operator import builders
from cogumi_operator.engine import JobRequest, JobView, Observed, Resource, step
from cogumi_operator.plans import plan_for
from cogumi_operator.settings import Settings


class RunError(ValueError):
    """A resource that cannot run locally (invalid spec, kind without stages)."""


def load_resource(doc: dict[str, Any], name_default: str = "local") -> Resource:
    """Validate a manifest with the same models the API server's schema comes from."""
    kind = doc.get("kind")
    if kind not in BY_KIND or not BY_KIND[kind].has_status:
        raise RunError(f"kind: unknown kind {kind!r}; expected one of {', '.join(k for k in BY_KIND)}")
    try:
        spec = BY_KIND[kind].spec.model_validate(doc.get("spec") or {})
    except ValidationError as err:
        lines = [f"spec.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()]
        raise RunError(f"{kind} refused:\n  " + "\n  ".join(lines)) from err
    meta = doc.get("metadata") or {}
    return Resource(kind=kind, name=meta.get("name", name_default), namespace=meta.get("namespace", "local"),
                    uid=f"local-{meta.get('name', name_default)}", generation=1, spec=spec, status=Status(),
                    raw_spec=spec.model_dump(by_alias=True, exclude_none=True, mode="json"))


def run_local(res: Resource, workdir: Path, on_event: Callable[[str, str], None]) -> Status:
    """Run every stage to the end (or the first failure / failed gate); returns the final status."""
    plan = plan_for(res.kind)
    if plan is None:
        raise RunError(f"{res.kind} has no stage Jobs; it only runs under the operator")
    workdir = workdir.resolve()
    for sub in ("results", "logs", "artifacts"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    settings = Settings(python=sys.executable)
    seen = Observed()
    while True:
        acts = step(res, plan, seen, datetime.now(UTC), output_root=(workdir / "artifacts").as_uri(),
                    result_uri=lambda job: (workdir / "results" / f"{job}.json").as_uri())
        for event in acts.events:
            on_event(event.reason, event.message)
        res = Resource(**{**res.__dict__, "status": acts.status})
        if acts.terminal or acts.status.phase == "Suspended":
            return acts.status
        if acts.create:
            for req in acts.create:
                seen.jobs[req.name], report = _execute(req, workdir, settings)
                if report is not None:
                    seen.results[req.name] = report
        elif acts.requeue_after:
            time.sleep(acts.requeue_after)
        else:  # waiting on something only a cluster provides (a `fromResource` reference)
            return acts.status


def _execute(req: JobRequest, workdir: Path, settings: Settings) -> tuple[JobView, StageReport | None]:
    """Run the stage's container command as a process, as the local node would."""
    env = {**os.environ, builders.SPEC_ENV: req.invocation.model_dump_json(by_alias=True, exclude_none=True),
           "COGUMI_PVC_ROOT": str(workdir / "pvc")}
    result_file = workdir / "results" / f"{req.name}.json"
    result_file.unlink(missing_ok=True)  # never read a result left by an earlier run
    started = datetime.now(UTC)
    with open(workdir / "logs" / f"{req.name}.log", "wb") as log:
        proc = subprocess.run(builders.stage_command(settings, req.stage_id), env=env, stdout=log,
                              stderr=subprocess.STDOUT, check=False)
    finished = datetime.now(UTC)
    report = StageReport.model_validate(json.loads(result_file.read_text())) if result_file.exists() else None
    state = "Succeeded" if proc.returncode == 0 else "Failed"
    message = "" if proc.returncode == 0 else f"exit code {proc.returncode}"
    return JobView(req.name, state, message, started, finished), report  # type: ignore[arg-type]
