"""``compressionrun.pack``: zstd-pack the model with a trained dictionary, then prove it unpacks.

Input: artifact ``gguf`` when present, else ``model``, else ``spec.model.uri`` (file://, a path or
pvc://). Packs every file at ``pack.level`` with a dictionary of ``pack.dictionaryBytes`` (0: none;
when training fails the stage packs without one and reports dictionaryBytes 0), writes artifact
``packed`` (see :mod:`cogumi_workloads.packing` for the layout), then unpacks it into a scratch
folder with the same function as ``python -m cogumi_workloads unpack`` and compares digests.
Metrics: unpackedBytes, packedBytes (the whole packed folder), ratio (unpacked / packed), files,
dictionaryBytes, verified (1.0).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from cogumi_api.compression import CompressionRunSpec
from cogumi_workloads.packing import pack, unpack
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.digest import digest_path
from cogumi_workloads.runtime.errors import PermanentError

OUTPUT = "packed"


def model_source(ctx: StageContext[CompressionRunSpec]) -> tuple[str, Path]:
    """(what, local path) of the model to pack."""
    for name in ("gguf", "model"):
        if name in ctx.inputs:
            return f"input artifact {name!r}", ctx.inputs[name]
    uri = ctx.spec.model.uri
    if uri is None:
        raise PermanentError("pack needs an input artifact 'gguf' or 'model', or spec.model.uri; none is given "
                             f"(model.fromResource={ctx.spec.model.from_resource!r} was not resolved to an input)")
    return f"spec.model.uri {uri}", uris.fetch(uri, ctx.workdir)


def run(ctx: StageContext[CompressionRunSpec]) -> None:
    what, src = model_source(ctx)
    cfg = ctx.spec.pack
    ctx.log.info("packing", source=what, path=str(src), compressionLevel=cfg.level,
                 dictionaryBytes=cfg.dictionary_bytes)
    dest = ctx.output_path(OUTPUT)
    result = pack(src, dest, cfg.level, cfg.dictionary_bytes, ctx.log)
    scratch = Path(tempfile.mkdtemp(prefix=".verify-", dir=ctx.workdir if uris.is_remote(ctx.output_uri)
                                    else dest.parent))
    try:
        unpacked = scratch / "unpacked"
        unpack(dest, unpacked, ctx.log)
        original = digest_path(src)
        restored = digest_path(unpacked / src.name if src.is_file() else unpacked)
        if original != restored:
            shutil.rmtree(dest, ignore_errors=True)
            raise PermanentError(f"packed model does not unpack to the original: sha256 {original[0]} "
                                 f"became {restored[0]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ctx.log.info("round trip verified", sha256=original[0], bytes=original[1])
    ctx.metrics.update({
        "unpackedBytes": float(result.unpacked_bytes),
        "packedBytes": float(result.packed_bytes),
        "ratio": result.unpacked_bytes / result.packed_bytes if result.packed_bytes else 0.0,
        "files": float(result.files),
        "dictionaryBytes": float(result.dictionary_bytes),
        "verified": 1.0,
    })
    ctx.publish("packed", OUTPUT)
