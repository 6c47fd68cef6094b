"""Structured JSON logs on stderr (one object per line) and progress for long loops."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

T = TypeVar("T")
TAIL_LINES = 40
TAIL_MAX_CHARS = 16_000


class JsonLogger:
    """Writes ``{"ts", "level", "stage", "msg", ...fields}`` lines and keeps the last ones for the report."""

    def __init__(self, stage: str, stream: TextIO | None = None, tail_lines: int = TAIL_LINES) -> None:
        self.stage = stage
        self.stream = stream if stream is not None else sys.stderr
        self._tail: deque[str] = deque(maxlen=tail_lines)

    def log(self, level: str, msg: str, /, **fields: Any) -> None:
        record: dict[str, Any] = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "stage": self.stage,
            "msg": msg,
        }
        for key, value in fields.items():  # a field never hides ts/level/stage/msg
            record[f"{key}_" if key in record else key] = value
        line = json.dumps(record, default=str, ensure_ascii=False)
        self._tail.append(line)
        self.stream.write(line + "\n")
        self.stream.flush()

    def debug(self, msg: str, /, **fields: Any) -> None:
        self.log("debug", msg, **fields)

    def info(self, msg: str, /, **fields: Any) -> None:
        self.log("info", msg, **fields)

    def warning(self, msg: str, /, **fields: Any) -> None:
        self.log("warning", msg, **fields)

    def error(self, msg: str, /, **fields: Any) -> None:
        self.log("error", msg, **fields)

    def tail(self) -> str:
        """The last log lines, newest last, capped in size for the StageReport."""
        text = "\n".join(self._tail)
        return text[-TAIL_MAX_CHARS:]


def progress(items: Iterable[T], logger: JsonLogger, desc: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` with a rich progress bar on an interactive stderr.

    When stderr is not a terminal (a Job's log) a bar would break the one-JSON-object-per-line
    format, so progress is logged as ``progress`` lines at every 10 % (or every 30 s) instead.
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if logger.stream.isatty():
        console = Console(file=logger.stream)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(desc, total=total)
            for item in items:
                yield item
                bar.advance(task)
        return
    step = max(1, total // 10) if total else 10_000
    last = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.monotonic()
        if done % step == 0 or now - last >= 30:
            last = now
            logger.info("progress", task=desc, done=done, total=total)


def quiet_library_progress() -> None:
    """Keep third-party tqdm bars (transformers, datasets) off a non-interactive stderr.

    Call it before those libraries are imported: tqdm reads ``TQDM_DISABLE`` at import time.
    """
    if not sys.stderr.isatty():
        os.environ.setdefault("TQDM_DISABLE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
