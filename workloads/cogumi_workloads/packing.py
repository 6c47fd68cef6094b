"""zstd packing of a model (a folder or one file) with an optional trained dictionary.

A packed folder holds ``<relpath>.zst`` for every file, ``dictionary.zdict`` when a dictionary
was trained, and ``manifest.json``::

    {"format": "cogumi-pack", "version": 1, "level": 10,
     "dictionary": {"path": "dictionary.zdict", "sha256": ..., "bytes": ...} | null,
     "files": [{"path": relpath, "sha256": ..., "bytes": ...,
                "packed": relpath + ".zst", "packedSha256": ..., "packedBytes": ...}]}

:func:`unpack` checks the packed digest of each file before decompressing it and the unpacked
digest after, and builds the destination atomically: a corrupt archive leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import zstandard as zstd

from cogumi_workloads.runtime.digest import folder_files, sha256_file
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger, progress
from cogumi_workloads.runtime.uris import atomic_dir

FORMAT, VERSION = "cogumi-pack", 1
MANIFEST, DICTIONARY = "manifest.json", "dictionary.zdict"
MIN_WHOLE_FILE_SAMPLES = 64
MAX_WHOLE_FILE_SAMPLE = 1 << 20
SAMPLE_CHUNK = 16 << 10


@dataclass
class PackResult:
    files: int
    unpacked_bytes: int
    packed_bytes: int
    dictionary_bytes: int


def source_files(src: Path) -> list[tuple[str, Path]]:
    """(relative POSIX path, file) for a folder, or (name, file) for a single file."""
    if src.is_file():
        return [(src.name, src)]
    if not src.is_dir():
        raise PermanentError(f"nothing to pack at {src}")
    files = [(p.relative_to(src).as_posix(), p) for p in folder_files(src)]
    if not files:
        raise PermanentError(f"the folder {src} holds no files to pack")
    return files


def _samples(files: list[tuple[str, Path]], dict_bytes: int) -> list[bytes]:
    """Whole files when there are many small ones, else evenly spread chunks of every file."""
    sizes = [p.stat().st_size for _, p in files]
    budget = min(max(100 * dict_bytes, 1 << 20), 32 << 20)
    if len(files) >= MIN_WHOLE_FILE_SAMPLES and max(sizes) <= MAX_WHOLE_FILE_SAMPLE:
        whole: list[bytes] = []
        for (_, path), size in zip(files, sizes, strict=True):
            if sum(map(len, whole)) + size > budget:
                break
            whole.append(path.read_bytes())
        return whole
    total = sum(sizes)
    samples: list[bytes] = []
    for (_, path), size in zip(files, sizes, strict=True):
        if size == 0:
            continue
        chunks = max(1, min(size // SAMPLE_CHUNK, budget * size // max(1, total) // SAMPLE_CHUNK))
        stride = max(SAMPLE_CHUNK, size // chunks)
        with open(path, "rb") as handle:
            for i in range(chunks):
                handle.seek(i * stride)
                if data := handle.read(SAMPLE_CHUNK):
                    samples.append(data)
    return samples


def train_dictionary(
    files: list[tuple[str, Path]], dict_bytes: int, log: JsonLogger,
) -> zstd.ZstdCompressionDict | None:
    """A trained dictionary, or None when ``dict_bytes`` is 0 or training fails (logged)."""
    if dict_bytes <= 0:
        return None
    samples = _samples(files, dict_bytes)
    try:
        trained = zstd.train_dictionary(dict_bytes, samples)
    except zstd.ZstdError as exc:
        log.warning("dictionary training failed; packing without a dictionary",
                    error=str(exc), samples=len(samples), sampleBytes=sum(map(len, samples)))
        return None
    log.info("dictionary trained", bytes=len(trained.as_bytes()), samples=len(samples))
    return trained


def pack(src: Path, dest: Path, level: int, dict_bytes: int, log: JsonLogger) -> PackResult:
    """Pack ``src`` (folder or file) into the folder ``dest``, atomically."""
    files = source_files(src)
    dictionary = train_dictionary(files, dict_bytes, log)
    entries: list[dict[str, Any]] = []
    with atomic_dir(dest) as out:
        dict_entry = None
        if dictionary is not None:
            (out / DICTIONARY).write_bytes(dictionary.as_bytes())
            dict_entry = {"path": DICTIONARY, "sha256": sha256_file(out / DICTIONARY),
                          "bytes": (out / DICTIONARY).stat().st_size}
        cctx = zstd.ZstdCompressor(level=level, dict_data=dictionary, write_checksum=True, threads=-1)
        for rel, path in progress(files, log, "pack"):
            packed = out / f"{rel}.zst"
            packed.parent.mkdir(parents=True, exist_ok=True)
            size = path.stat().st_size
            with open(path, "rb") as fin, open(packed, "wb") as fout:
                cctx.copy_stream(fin, fout, size=size)
            entries.append({"path": rel, "sha256": sha256_file(path), "bytes": size,
                            "packed": f"{rel}.zst", "packedSha256": sha256_file(packed),
                            "packedBytes": packed.stat().st_size})
        manifest = {"format": FORMAT, "version": VERSION, "level": level, "dictionary": dict_entry,
                    "files": entries}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        packed_total = sum(p.stat().st_size for p in folder_files(out))
    return PackResult(files=len(entries), unpacked_bytes=sum(e["bytes"] for e in entries),
                      packed_bytes=packed_total, dictionary_bytes=dict_entry["bytes"] if dict_entry else 0)


class _HashingWriter:
    """A write-only file wrapper that hashes and counts what passes through it."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.digest, self.bytes = handle, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.bytes += len(data)
        return int(self.handle.write(data))


def _safe_relpath(rel: Any, src: Path) -> str:
    if not isinstance(rel, str) or not rel or PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
        raise PermanentError(f"packed folder {src}: manifest names an unsafe path {rel!r}")
    return rel


def read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PermanentError(f"{src} is not a packed folder: it has no {MANIFEST}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PermanentError(f"{src}/{MANIFEST} is corrupt: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise PermanentError(f"{src}/{MANIFEST} is not a {FORMAT} v{VERSION} manifest")
    return manifest


def _check(path: Path, sha: str, size: int, what: str) -> None:
    if not path.is_file():
        raise PermanentError(f"corrupt archive: {what} is missing ({path})")
    found = sha256_file(path)
    if found != sha or path.stat().st_size != size:
        raise PermanentError(f"corrupt archive: {what} ({path.name}) has sha256 {found}, manifest says {sha}")


def unpack(src: Path, dest: Path, log: JsonLogger) -> tuple[int, int]:
    """Verify and unpack ``src`` into ``dest`` (replaced atomically); returns (files, bytes)."""
    manifest = read_manifest(src)
    dictionary = None
    if manifest.get("dictionary"):
        entry = manifest["dictionary"]
        path = src / _safe_relpath(entry.get("path"), src)
        _check(path, entry.get("sha256"), entry.get("bytes"), "the dictionary")
        dictionary = zstd.ZstdCompressionDict(path.read_bytes())
    dctx = zstd.ZstdDecompressor(dict_data=dictionary)
    total = 0
    files = manifest.get("files") or []
    with atomic_dir(dest) as out:
        for entry in progress(files, log, "unpack"):
            rel = _safe_relpath(entry.get("path"), src)
            packed = src / _safe_relpath(entry.get("packed"), src)
            _check(packed, entry.get("packedSha256"), entry.get("packedBytes"), f"packed file {rel}")
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(packed, "rb") as fin, open(target, "wb") as fout:
                writer = _HashingWriter(fout)
                try:
                    dctx.copy_stream(fin, writer)
                except zstd.ZstdError as exc:
                    raise PermanentError(f"corrupt archive: {rel} does not decompress: {exc}") from exc
            if writer.digest.hexdigest() != entry.get("sha256") or writer.bytes != entry.get("bytes"):
                raise PermanentError(f"corrupt archive: {rel} unpacks to sha256 {writer.digest.hexdigest()} "
                                     f"({writer.bytes} bytes), manifest says {entry.get('sha256')}")
            total += writer.bytes
    return len(files), total
