"""``dataset.ingest``: read every source of the Dataset into one JSONL of records.

A source is a JSONL file (its ``promptField``/``answerField`` name the fields; an ``id`` and a
``domain`` field are used when present) or a builtin generator (:mod:`cogumi_workloads.generators`).
Writes artifact ``records`` (``records.jsonl``: id, prompt, answer, domain, source); metric ``records``
plus ``records.<n>`` per source index.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from cogumi_api.data import DatasetSpec, Source
from cogumi_workloads import generators
from cogumi_workloads.records import Record, read_jsonl, write_records
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError

OUTPUT = "records.jsonl"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _from_generator(index: int, source: Source) -> Iterator[Record]:
    gen = source.generator
    assert gen is not None
    domain = source.domain or generators.DEFAULT_DOMAIN[gen.name]
    label = f"generator:{gen.name}"
    for n, (prompt, answer) in enumerate(generators.generate(gen.name, gen.count, gen.seed)):
        yield Record(id=f"s{index}-{gen.name}-{gen.seed}-{n:07d}", prompt=prompt, answer=answer,
                     domain=domain, source=label)


def _from_jsonl(ctx: StageContext[DatasetSpec], index: int, source: Source) -> Iterator[Record]:
    assert source.uri is not None
    path = uris.fetch(source.uri, ctx.workdir)
    if not path.is_file():
        raise PermanentError(f"source {index} ({source.uri}) is not a file")
    for number, obj in read_jsonl(path):
        if source.prompt_field not in obj:
            raise PermanentError(f"source {index} ({source.uri}) line {number} has no field {source.prompt_field!r}")
        ident = obj.get("id")
        yield Record(
            id=f"s{index}-{ident}" if ident is not None else f"s{index}-{number:07d}",
            prompt=_text(obj[source.prompt_field]),
            answer=_text(obj.get(source.answer_field)),
            domain=source.domain or _text(obj.get("domain")) or "general",
            source=source.uri,
        )


def run(ctx: StageContext[DatasetSpec]) -> None:
    records: list[Record] = []
    for index, source in enumerate(ctx.spec.sources):
        if source.generator is not None and source.uri is not None:
            raise PermanentError(f"source {index} sets both uri and generator; set exactly one")
        if source.generator is not None:
            found, origin = list(_from_generator(index, source)), f"generator:{source.generator.name}"
        elif source.uri is not None:
            found, origin = list(_from_jsonl(ctx, index, source)), source.uri
        else:
            raise PermanentError(f"source {index} sets neither uri nor generator")
        ctx.log.info("source read", source=index, records=len(found), origin=origin)
        ctx.metrics[f"records.{index}"] = float(len(found))
        records.extend(found)
    counts = Counter(r["id"] for r in records)
    if len(counts) != len(records):
        dupes = sorted(i for i, n in counts.items() if n > 1)[:5]
        raise PermanentError(f"record ids are not unique across sources, e.g. {', '.join(dupes)}")
    write_records(ctx.output_path(OUTPUT), ctx.progress(records, "write records"))
    ctx.metrics["records"] = float(len(records))
    ctx.publish("records", OUTPUT)
