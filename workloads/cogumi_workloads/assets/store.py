"""The asset cache: locking, atomic builds and the checksum marker.

A materialised asset is a folder ``<root>/<kind>/<name>-<version>/`` whose last file written is
``.cogumi-asset.json``: the marker, listing the sha256 and size of every other file. The folder
is built in a temporary sibling and renamed into place (:func:`uris.atomic_dir`), so it is
either complete with its marker or absent.

On use the marker is checked cheaply (every listed file present with its size, nothing
missing); ``full=True`` (``models pull --verify``) re-hashes every file. A folder that fails
either check is rebuilt. Builds of one asset are serialised by an exclusive ``flock`` on
``<root>/locks/<name>-<version>.lock``, so two processes pulling at once build it once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cogumi_workloads.runtime.digest import folder_files, sha256_file
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.runtime.uris import atomic_dir, atomic_write_text

MARKER = ".cogumi-asset.json"
AssetKind = Literal["models", "sources"]


def cache_root() -> Path:
    """``$COGUMI_CACHE_DIR``, else ``~/.cache/cogumi``."""
    configured = os.environ.get("COGUMI_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "cogumi"


class FileDigest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)


class Marker(BaseModel):
    """Content of ``.cogumi-asset.json``."""

    model_config = ConfigDict(extra="forbid")
    name: str
    version: str
    kind: AssetKind
    source: str
    created: datetime
    build_seconds: float = Field(ge=0)
    files: dict[str, FileDigest]

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files.values())


@dataclass
class BuildContext:
    """What a build function gets besides its destination folder."""

    root: Path
    scratch: Path
    """A private temporary folder, removed after the build."""
    log: JsonLogger


@dataclass(frozen=True)
class Asset:
    name: str
    version: str
    kind: AssetKind
    summary: str
    source: str
    """Where the content comes from (packages, versions, recipe), recorded in the marker."""
    build: Callable[[Path, BuildContext], None]
    """Writes the asset's files into the (empty) folder it is given."""

    @property
    def folder_name(self) -> str:
        return f"{self.name}-{self.version}"

    def path(self, root: Path | None = None) -> Path:
        return (root or cache_root()) / self.kind / self.folder_name


@dataclass(frozen=True)
class PullResult:
    name: str
    path: Path
    action: Literal["present", "built", "rebuilt"]
    seconds: float
    bytes: int


@contextlib.contextmanager
def locked(lock_file: Path, log: JsonLogger | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_file`` (created if needed) for the block."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if log is not None:
                log.info("waiting for another process to finish", lock=str(lock_file))
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_marker(folder: Path) -> Marker | None:
    path = folder / MARKER
    try:
        return Marker.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return None


def problem(folder: Path, full: bool) -> str | None:
    """Why ``folder`` is not a valid materialised asset, or ``None`` when it is.

    Cheap check: the marker parses and every listed file exists with its recorded size.
    Full check (``full=True``): also every sha256, and no unlisted file.
    """
    if not folder.is_dir():
        return "not materialised yet"
    marker = read_marker(folder)
    if marker is None:
        return f"{MARKER} missing or unreadable"
    for rel, digest in marker.files.items():
        path = folder / rel
        try:
            size = path.stat().st_size
        except OSError:
            return f"{rel} is missing"
        if size != digest.bytes:
            return f"{rel} has {size} bytes, expected {digest.bytes}"
    if not full:
        return None
    for rel, digest in marker.files.items():
        if sha256_file(folder / rel) != digest.sha256:
            return f"{rel} does not match its sha256"
    extra = sorted({p.relative_to(folder).as_posix() for p in folder_files(folder)} - set(marker.files) - {MARKER})
    if extra:
        return f"unlisted file(s): {', '.join(extra[:5])}"
    return None


def _write_marker(asset: Asset, folder: Path, seconds: float) -> Marker:
    files = {p.relative_to(folder).as_posix(): FileDigest(sha256=sha256_file(p), bytes=p.stat().st_size)
             for p in folder_files(folder)}
    if not files:
        raise PermanentError(f"building asset {asset.name} produced no files")
    marker = Marker(name=asset.name, version=asset.version, kind=asset.kind, source=asset.source,
                    created=datetime.now(UTC), build_seconds=round(seconds, 3), files=files)
    atomic_write_text(folder / MARKER, marker.model_dump_json(indent=2) + "\n")
    return marker


def _publishable(folder: Path) -> None:
    """World-readable permissions (temporary files and folders are created private)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _remove_leftovers(asset: Asset, parent: Path) -> None:
    """Temporary folders of a build that was killed (``atomic_dir`` cleans up only on exceptions)."""
    if parent.is_dir():
        for stale in parent.glob(f".{asset.folder_name}.*"):
            shutil.rmtree(stale, ignore_errors=True)


def materialise(asset: Asset, *, full: bool = False, log: JsonLogger | None = None,
                root: Path | None = None) -> PullResult:
    """Make sure ``asset`` is materialised and valid; build or rebuild it when not."""
    log = log or JsonLogger("assets")
    root = root or cache_root()
    folder = asset.path(root)
    start = time.monotonic()
    if not full and problem(folder, full=False) is None:
        marker = read_marker(folder)
        return PullResult(asset.name, folder, "present", time.monotonic() - start, marker.total_bytes if marker else 0)
    with locked(root / "locks" / f"{asset.folder_name}.lock", log):
        reason = problem(folder, full=full)
        if reason is None:
            marker = read_marker(folder)
            return PullResult(asset.name, folder, "present", time.monotonic() - start,
                              marker.total_bytes if marker else 0)
        existed = folder.exists()
        if existed:
            log.warning("asset invalid; rebuilding", asset=asset.name, path=str(folder), reason=reason)
        log.info("materialising asset", asset=asset.name, version=asset.version, path=str(folder))
        _remove_leftovers(asset, folder.parent)
        scratch_parent = root / "tmp"
        scratch_parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{asset.folder_name}.", dir=scratch_parent) as scratch, \
                atomic_dir(folder) as staging:
            asset.build(staging, BuildContext(root=root, scratch=Path(scratch), log=log))
            marker = _write_marker(asset, staging, time.monotonic() - start)
            _publishable(staging)
        seconds = time.monotonic() - start
        log.info("asset ready", asset=asset.name, path=str(folder), files=len(marker.files),
                 bytes=marker.total_bytes, seconds=round(seconds, 1))
        return PullResult(asset.name, folder, "rebuilt" if existed else "built", seconds, marker.total_bytes)
