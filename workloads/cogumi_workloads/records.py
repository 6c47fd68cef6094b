"""The record format shared by the dataset stages: JSONL with id, prompt, answer, domain, source."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypedDict

from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.uris import atomic_file

FIELDS = ("id", "prompt", "answer", "domain", "source")
_SPACE = re.compile(r"\s+")


class Record(TypedDict):
    id: str
    prompt: str
    answer: str
    domain: str
    source: str


def normalise(text: str) -> str:
    """Lower case with every run of whitespace collapsed to one space (and trimmed)."""
    return _SPACE.sub(" ", text).strip().lower()


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; :class:`PermanentError` on bad JSON."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise PermanentError(f"{path}:{number}: not valid JSON: {exc.msg}") from exc
            if not isinstance(obj, dict):
                raise PermanentError(f"{path}:{number}: expected a JSON object, found {type(obj).__name__}")
            yield number, obj


def read_records(path: Path) -> list[Record]:
    """Records written by an earlier stage (every field checked)."""
    records: list[Record] = []
    for number, obj in read_jsonl(path):
        missing = [f for f in FIELDS if not isinstance(obj.get(f), str)]
        if missing:
            raise PermanentError(f"{path}:{number}: record lacks string field(s) {', '.join(missing)}")
        records.append(Record(id=obj["id"], prompt=obj["prompt"], answer=obj["answer"],
                              domain=obj["domain"], source=obj["source"]))
    return records


def write_records(path: Path, records: Iterable[Record]) -> int:
    """Write ``records`` atomically as JSONL; returns how many were written."""
    count = 0
    with atomic_file(path, "w") as handle:
        for record in records:
            handle.write(json.dumps({f: record[f] for f in FIELDS}, ensure_ascii=False) + "\n")
            count += 1
    return count
