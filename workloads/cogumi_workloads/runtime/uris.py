"""Artifact URIs and atomic writes.

Understood URIs:

- ``file:///abs/path`` and plain absolute paths: the local file system;
- ``pvc://claim/sub/path``: ``${COGUMI_PVC_ROOT:-/mnt/pvc}/claim/sub/path`` (the claim is mounted
  there in a stage Job);
- ``s3://bucket/key``: through :mod:`fsspec` (with s3fs) when installed, otherwise a clear error;
- ``builtin://<name>``: a builtin model materialised from registry packages into the cache
  (:mod:`cogumi_workloads.assets.models`), pulled on first use.

Writes are atomic: a file is written under a temporary name in its own folder, fsynced and
renamed over the target; a folder is built in a temporary sibling folder and renamed into place.
A failure leaves neither a partial target nor the temporary behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

from cogumi_workloads.runtime.errors import PermanentError, RetryableError

DEFAULT_PVC_ROOT = "/mnt/pvc"
REMOTE_SCHEMES = ("s3",)


def pvc_root() -> Path:
    return Path(os.environ.get("COGUMI_PVC_ROOT") or DEFAULT_PVC_ROOT)


def scheme(uri: str) -> str:
    """The URI's scheme; ``file`` for a plain absolute path."""
    if uri.startswith("/"):
        return "file"
    parsed = urlparse(uri)
    return parsed.scheme.lower()


def is_remote(uri: str) -> bool:
    return scheme(uri) in REMOTE_SCHEMES


def local_path(uri: str) -> Path:
    """The local path a ``file://``, plain or ``pvc://`` URI stands for."""
    if uri.startswith("/"):
        return Path(uri)
    parsed = urlparse(uri)
    kind = parsed.scheme.lower()
    if kind == "file":
        if parsed.netloc not in ("", "localhost"):
            raise PermanentError(f"file URI {uri!r} names host {parsed.netloc!r}; use file:///abs/path")
        path = unquote(parsed.path)
        if not path.startswith("/"):
            raise PermanentError(f"file URI {uri!r} is not absolute")
        return Path(path)
    if kind == "pvc":
        claim = parsed.netloc
        if not claim:
            raise PermanentError(f"pvc URI {uri!r} names no claim; use pvc://claim/sub/path")
        sub = unquote(parsed.path).lstrip("/")
        if ".." in Path(sub).parts:
            raise PermanentError(f"pvc URI {uri!r} leaves its claim")
        return pvc_root() / claim / sub
    if kind == "builtin":
        return _builtin(uri, parsed.netloc, unquote(parsed.path))
    if kind in REMOTE_SCHEMES:
        raise PermanentError(f"{uri!r} is remote; it has no local path (fetch it first)")
    raise PermanentError(f"unsupported URI {uri!r}: use file://, an absolute path, pvc://claim/path, s3:// "
                         "or builtin://<model>")


def _builtin(uri: str, name: str, sub: str) -> Path:
    from cogumi_workloads.assets.models import resolve

    if not name:
        raise PermanentError(f"builtin URI {uri!r} names no model; use builtin://<name>")
    rel = sub.strip("/")
    if ".." in Path(rel).parts:
        raise PermanentError(f"builtin URI {uri!r} leaves its model folder")
    folder = resolve(name)
    return folder / rel if rel else folder


def join(uri: str, name: str) -> str:
    """``uri`` with ``name`` appended as a path segment (keeps the scheme)."""
    return uri.rstrip("/") + "/" + name.lstrip("/")


def _fsspec() -> Any:
    try:
        import fsspec  # type: ignore[import-not-found]
    except ImportError as exc:
        raise PermanentError("s3:// URIs need fsspec and s3fs, which are not installed in this image") from exc
    return fsspec


def fetch(uri: str, cache_dir: Path) -> Path:
    """A local path holding the content of ``uri`` (downloaded into ``cache_dir`` when remote)."""
    if not is_remote(uri):
        path = local_path(uri)
        if not path.exists():
            raise PermanentError(f"artifact {uri!r} does not exist (looked at {path})")
        return path
    fs, remote = _fsspec().core.url_to_fs(uri)
    target = cache_dir / Path(remote.rstrip("/")).name
    try:
        fs.get(remote, str(target), recursive=fs.isdir(remote))
    except FileNotFoundError as exc:
        raise PermanentError(f"artifact {uri!r} does not exist") from exc
    except OSError as exc:
        raise RetryableError(f"could not download {uri!r}: {exc}") from exc
    return target


def publish(local: Path, uri: str) -> None:
    """Upload ``local`` (file or folder) to the remote ``uri``."""
    fs, remote = _fsspec().core.url_to_fs(uri)
    try:
        fs.put(str(local), remote, recursive=local.is_dir())
    except OSError as exc:
        raise RetryableError(f"could not upload to {uri!r}: {exc}") from exc


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system can fsync a folder
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(target: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``target``; on success fsync it and rename it into place."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_file mode must be 'wb' or 'w', not {mode!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_file(target, "wb") as handle:
        handle.write(data)


def atomic_write_text(target: Path, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces ``target`` (old content removed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        for path in tmp.rglob("*"):
            if path.is_file():
                with open(path, "rb+") as handle:
                    os.fsync(handle.fileno())
        old: Path | None = None
        if target.exists() or target.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, old / "content")
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(target.parent)


def gguf_file(path: Path) -> Path:
    """``path`` when it is a file, else the one ``.gguf`` in the folder (a materialised model or adapter)."""
    if path.is_file():
        return path
    found = sorted(path.glob("*.gguf"))
    if len(found) != 1:
        raise PermanentError(f"{path} must hold exactly one .gguf file (found {len(found)})")
    return found[0]
