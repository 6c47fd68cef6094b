"""Helpers of the specialisation tests: `cogumi run` in a subprocess and reading what it left."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

COGUMI = Path(sys.executable).with_name("cogumi")
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""One math thread per process: on a shared, busy CPU two spinning OpenMP threads run several times slower."""


def cogumi_run(doc: dict[str, Any], workdir: Path, env: dict[str, str] | None = None,
               timeout: float = 900) -> tuple[int, dict[str, Any], str]:
    """``cogumi run -f FILE --workdir DIR``: exit code, the printed status, and the whole output."""
    manifest = workdir.with_suffix(".yaml")
    manifest.write_text(yaml.safe_dump(doc))
    proc = subprocess.run([str(COGUMI), "run", "-f", str(manifest), "--workdir", str(workdir)], capture_output=True,
                          text=True, env={**os.environ, **THREADS, **(env or {})}, timeout=timeout, check=False)
    out = proc.stdout
    found = re.search(r"^status:", out, re.MULTILINE)
    status = yaml.safe_load(out[found.start():])["status"] if found else {}
    return proc.returncode, status, out + proc.stderr


def stage(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in status["stages"] if s["name"] == name)


def artifact_path(status: dict[str, Any], name: str) -> Path:
    return Path(status["artifacts"][name]["uri"].removeprefix("file://"))


def stage_logs(workdir: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted((workdir / "logs").glob("*.log")))


def results_text(workdir: Path) -> str:
    return "\n".join(p.read_text() for p in sorted((workdir / "results").glob("*.json")))


def manifest(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "cogumi.ai/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
