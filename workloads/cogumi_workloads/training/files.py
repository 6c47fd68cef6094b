"""Small JSON / JSONL writers and readers for stage artifacts (atomic writes)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cogumi_workloads.records import read_jsonl
from cogumi_workloads.runtime.uris import atomic_file, atomic_write_text


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with atomic_file(path, "w") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            count += 1
    return count


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [obj for _, obj in read_jsonl(path)]


def write_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
