"""``dataset.split``: deterministic train / validation / test split.

Each record goes to a split by ``u = sha256("<split.seed>:<id>")`` read as a number in [0, 1):
``u < test`` → test, ``u < test + validation`` → validation, otherwise train. The assignment of a
record never depends on the other records, so re-running (or adding records) keeps it stable.

Reads artifact ``filtered`` (else ``deduped``, else ``records``); writes ``dataset``, a folder with
train.jsonl, validation.jsonl and test.jsonl. Metrics: train, validation, test, records.
"""

from __future__ import annotations

import hashlib
import json

from cogumi_api.data import DatasetSpec, Split
from cogumi_workloads.records import FIELDS, Record, read_records
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.uris import atomic_dir

OUTPUT = "dataset"
SPLITS = ("train", "validation", "test")


def assign(record_id: str, split: Split) -> str:
    digest = hashlib.sha256(f"{split.seed}:{record_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < split.test:
        return "test"
    if u < split.test + split.validation:
        return "validation"
    return "train"


def run(ctx: StageContext[DatasetSpec]) -> None:
    name, path = ctx.input("filtered", "deduped", "records")
    records = read_records(path)
    parts: dict[str, list[Record]] = {s: [] for s in SPLITS}
    for record in ctx.progress(records, "split"):
        parts[assign(record["id"], ctx.spec.split)].append(record)
    with atomic_dir(ctx.output_path(OUTPUT)) as folder:
        for split, rows in parts.items():
            with open(folder / f"{split}.jsonl", "w", encoding="utf-8") as handle:
                for record in rows:
                    handle.write(json.dumps({f: record[f] for f in FIELDS}, ensure_ascii=False) + "\n")
    ctx.log.info("split", input=name, **{s: len(rows) for s, rows in parts.items()})
    for split, rows in parts.items():
        ctx.metrics[split] = float(len(rows))
    ctx.metrics["records"] = float(len(records))
    ctx.publish("dataset", OUTPUT)
