"""Detached processes tracked by pid files, so that another process can stop them later.

A pid file holds ``<pid> <start-time>``; the start time (from /proc, where available) guards
against signalling an unrelated process that reused the pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

_LOG_TAIL_LINES = 40


def _proc_start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks); None where /proc is unavailable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else None


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


class ProcessTable:
    """The processes of one state dir: ``<state>/pids/<name>.pid`` and ``<state>/logs/<name>.log``."""

    def __init__(self, state_dir: Path) -> None:
        self.pid_dir = state_dir / "pids"
        self.log_dir = state_dir / "logs"

    def pid_file(self, name: str) -> Path:
        return self.pid_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def spawn(self, name: str, argv: Sequence[str], cwd: Path) -> int:
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file(name).open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting: {' '.join(argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        started = _proc_start_time(proc.pid)
        tmp = self.pid_file(name).with_suffix(".pid.tmp")
        tmp.write_text(f"{proc.pid} {started or '-'}\n")
        os.replace(tmp, self.pid_file(name))
        return proc.pid

    def pid(self, name: str) -> int | None:
        """The recorded pid if that process is still alive (and is the one we started)."""
        try:
            fields = self.pid_file(name).read_text().split()
        except FileNotFoundError:
            return None
        if not fields or not fields[0].isdigit():
            return None
        pid = int(fields[0])
        _reap(pid)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return None  # someone else's process now holds that pid
        if _is_zombie(pid):
            return None
        recorded = fields[1] if len(fields) > 1 else "-"
        current = _proc_start_time(pid)
        if recorded != "-" and current is not None and current != recorded:
            return None
        return pid

    def stop(self, name: str, timeout: float) -> None:
        """SIGTERM the process group, SIGKILL it after ``timeout`` seconds, then forget the pid file."""
        pid = self.pid(name)
        if pid is not None:
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.pid(name) is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.pid(name) is not None:
                _signal_group(pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
                while self.pid(name) is not None and time.monotonic() < deadline:
                    time.sleep(0.05)
        self.pid_file(name).unlink(missing_ok=True)

    def log_tail(self, name: str, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self.log_file(name).read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # started with start_new_session, so the pid is also the group id
    except ProcessLookupError:
        return
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def free_ports(count: int, preferred: Sequence[int] = ()) -> list[int]:
    """``count`` loopback TCP ports: the preferred ones when they are still free, fresh ones otherwise."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        for i in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT ports are reusable, as for Go
            want = preferred[i] if i < len(preferred) else 0
            if want and want not in ports:
                try:
                    sock.bind(("127.0.0.1", want))
                except OSError:
                    want = 0
            if not want or want in ports:
                sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    finally:
        for sock in held:
            sock.close()
    return ports
