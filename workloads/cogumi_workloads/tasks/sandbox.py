"""Running untrusted Python (model-written code) in a separate, limited process.

Never in-process. Each program runs as ``python -I -B program.py`` in a fresh temporary folder
(its working directory and ``HOME``), with an empty environment apart from ``PATH`` and
``LANG``, no standard input, and output to files in that folder. Before the program starts, a
small launcher sets ``resource`` limits on itself (inherited through ``exec``):

- ``RLIMIT_CPU``: the timeout plus one second; ``RLIMIT_AS``: 1 GiB of address space;
- ``RLIMIT_FSIZE``: 16 MiB per written file (stdout/stderr included); ``RLIMIT_CORE``: 0;
- ``RLIMIT_NOFILE``: 64 open files.

Network: the launcher moves itself into a new, empty network namespace (``unshare(CLONE_NEWNET)``,
or a new user namespace plus network namespace where the first is not permitted), so no
address outside the process is reachable. Where neither is permitted (some containers), the
program's ``socket`` functions are replaced by ones that raise before it runs: a weaker guard,
reported as ``network="guard"`` in the result. The whole process group is killed with SIGKILL
at the wall-clock timeout or when the program ends, so nothing it started outlives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT_S = 10.0
OUTPUT_TAIL = 2000

_LAUNCHER = r"""
import ctypes, json, os, resource, sys
limits, program = json.loads(sys.argv[1]), sys.argv[2]
for name, value in limits.items():
    resource.setrlimit(getattr(resource, name), (value, value))
libc = ctypes.CDLL(None, use_errno=True)
uid, gid, mode = os.getuid(), os.getgid(), "guard"
if libc.unshare(0x40000000) == 0:
    mode = "netns"
elif libc.unshare(0x10000000 | 0x40000000) == 0:
    mode = "userns+netns"
    for path, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{path}", "w") as handle:
            handle.write(text)
with open("sandbox-network.txt", "w") as handle:
    handle.write(mode)
os.environ["COGUMI_SANDBOX_NET"] = mode
os.execv(sys.executable, [sys.executable, "-I", "-B", program])
"""

_GUARD = """\
import os as _cogumi_os
if _cogumi_os.environ.get("COGUMI_SANDBOX_NET") == "guard":
    import socket as _cogumi_socket
    def _cogumi_no_network(*_args, **_kwargs):
        raise OSError("network access is disabled in the cogumi sandbox")
    for _cogumi_name in ("socket", "create_connection", "getaddrinfo", "socketpair", "fromfd"):
        setattr(_cogumi_socket, _cogumi_name, _cogumi_no_network)
del _cogumi_os
"""


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None
    """The exit status (negative: killed by that signal); ``None`` when the timeout killed it."""
    timed_out: bool
    seconds: float
    stdout: str
    stderr: str
    network: str
    """How the network was cut off: ``netns``, ``userns+netns`` or ``guard``."""

    @property
    def passed(self) -> bool:
        return not self.timed_out and self.returncode == 0


def _limits(timeout_s: float, memory_bytes: int) -> dict[str, int]:
    return {"RLIMIT_CPU": int(timeout_s) + 1, "RLIMIT_AS": memory_bytes, "RLIMIT_FSIZE": 16 << 20,
            "RLIMIT_CORE": 0, "RLIMIT_NOFILE": 64}


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - OUTPUT_TAIL))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def run_python(source: str, timeout_s: float = DEFAULT_TIMEOUT_S, memory_bytes: int = 1 << 30) -> SandboxResult:
    """Run ``source`` as a Python program in the sandbox and report how it ended."""
    with tempfile.TemporaryDirectory(prefix="cogumi-sandbox-") as tmp:
        folder = Path(tmp)
        program = folder / "program.py"
        program.write_text(_GUARD + source, encoding="utf-8")
        out_path, err_path = folder / "stdout.txt", folder / "stderr.txt"
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": tmp, "TMPDIR": tmp}
        argv = [sys.executable, "-I", "-c", _LAUNCHER, json.dumps(_limits(timeout_s, memory_bytes)), str(program)]
        start = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(argv, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
            timed_out = False
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        seconds = time.monotonic() - start
        try:
            network = (folder / "sandbox-network.txt").read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            network = "unknown"
        return SandboxResult(returncode=None if timed_out else proc.returncode, timed_out=timed_out,
                             seconds=seconds, stdout=_tail(out_path), stderr=_tail(err_path), network=network)
