"""Content digests of artifacts: a file's sha256, or the sha256 of a folder's sorted manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cogumi_api.meta import Artifact
from cogumi_workloads.runtime.errors import PermanentError

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def folder_files(root: Path) -> list[Path]:
    """Every regular file under ``root``, sorted by relative POSIX path."""
    return sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())


def digest_path(path: Path) -> tuple[str, int]:
    """(sha256, total bytes) of a file, or of a folder's manifest of ``relpath\\tsha256\\tbytes\\n`` lines."""
    if path.is_file():
        return sha256_file(path), path.stat().st_size
    if not path.is_dir():
        raise PermanentError(f"{path} is neither a file nor a folder")
    manifest = hashlib.sha256()
    total = 0
    for file in folder_files(path):
        size = file.stat().st_size
        total += size
        manifest.update(f"{file.relative_to(path).as_posix()}\t{sha256_file(file)}\t{size}\n".encode())
    return manifest.hexdigest(), total


def artifact(uri: str, path: Path) -> Artifact:
    """The :class:`Artifact` of the content at ``path``, published as ``uri``."""
    sha, size = digest_path(path)
    return Artifact(uri=uri, sha256=sha, bytes=size)


def verify(name: str, expected: Artifact, path: Path) -> None:
    """Refuse ``path`` unless it matches ``expected`` (sha256 and, when given, bytes)."""
    sha, size = digest_path(path)
    if expected.sha256 is not None and sha != expected.sha256.lower():
        raise PermanentError(
            f"input artifact {name!r} ({expected.uri}) failed verification: "
            f"expected sha256 {expected.sha256}, found {sha}")
    if expected.bytes is not None and size != expected.bytes:
        raise PermanentError(
            f"input artifact {name!r} ({expected.uri}) failed verification: "
            f"expected {expected.bytes} bytes, found {size}")
