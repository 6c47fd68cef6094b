"""``dataset.dedup``: near-duplicate removal with MinHash LSH (datasketch).

Each prompt is normalised (lower case, whitespace collapsed), cut into word shingles of
``dedup.shingleSize`` words (a shorter prompt is one shingle) and hashed into a MinHash of
``dedup.numPerm`` permutations. A record is a duplicate when the LSH index (``dedup.threshold``)
returns an already kept record whose estimated Jaccard similarity reaches the threshold; the first
record of each duplicate group is kept, in input order. With ``dedup.enabled: false`` the records
are copied through unchanged.

Reads artifact ``records``; writes ``deduped`` (``deduped.jsonl``). Metrics: recordsIn, recordsOut,
duplicates, dedupRatio (= duplicates / recordsIn).
"""

from __future__ import annotations

from datasketch import MinHash, MinHashLSH

from cogumi_api.data import DatasetSpec
from cogumi_workloads.records import Record, normalise, read_records, write_records
from cogumi_workloads.runtime.context import StageContext

OUTPUT = "deduped.jsonl"
MINHASH_SEED = 1


def shingles(text: str, size: int) -> set[bytes]:
    """Word shingles of the normalised ``text``."""
    words = normalise(text).split(" ")
    if len(words) <= size:
        return {" ".join(words).encode("utf-8")}
    return {" ".join(words[i:i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


def minhash(text: str, size: int, num_perm: int) -> MinHash:
    mh = MinHash(num_perm=num_perm, seed=MINHASH_SEED)
    mh.update_batch(list(shingles(text, size)))
    return mh


def deduplicate(ctx: StageContext[DatasetSpec], records: list[Record]) -> list[Record]:
    cfg = ctx.spec.dedup
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
    kept_hashes: dict[int, MinHash] = {}  # keyed by position: ids need not be unique here
    kept: list[Record] = []
    examples: list[dict[str, str]] = []
    for position, record in enumerate(ctx.progress(records, "dedup")):
        mh = minhash(record["prompt"], cfg.shingle_size, cfg.num_perm)
        match = next((key for key in lsh.query(mh) if kept_hashes[key].jaccard(mh) >= cfg.threshold), None)
        if match is not None:
            if len(examples) < 5:
                examples.append({"duplicate": record["id"], "of": records[match]["id"]})
            continue
        lsh.insert(position, mh)
        kept_hashes[position] = mh
        kept.append(record)
    if examples:
        ctx.log.info("duplicate examples", examples=examples)
    return kept


def run(ctx: StageContext[DatasetSpec]) -> None:
    _, path = ctx.input("records")
    records = read_records(path)
    if ctx.spec.dedup.enabled:
        kept = deduplicate(ctx, records)
    else:
        ctx.log.info("dedup disabled; copying records through")
        kept = records
    write_records(ctx.output_path(OUTPUT), kept)
    duplicates = len(records) - len(kept)
    ctx.metrics.update({
        "recordsIn": float(len(records)),
        "recordsOut": float(len(kept)),
        "duplicates": float(duplicates),
        "dedupRatio": duplicates / len(records) if records else 0.0,
    })
    ctx.publish("deduped", OUTPUT)
