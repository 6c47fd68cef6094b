"""Build (once) and locate the control-plane binaries in the per-user cache.

Layout: ``<cache>/bin/k8s-<ver>/{kube-apiserver,kube-controller-manager,kubectl}``,
``<cache>/bin/etcd-<ver>/etcd`` and ``<cache>/bin/helm-<ver>/helm``, each directory with a
``checksums.json`` written after a successful build. A binary is reused when its size and mtime
match the record; if they differ it is rehashed and reused only if its sha256 still matches.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import gobuild
from .gobuild import KUBERNETES_COMMANDS, BuildError, Progress
from .versions import (
    ETCD_VERSION,
    HELM_VERSION,
    KUBERNETES_VERSION,
    bin_root,
    etcd_bin_dir,
    helm_bin_dir,
    kubernetes_bin_dir,
    work_root,
)

__all__ = ["Binaries", "BuildError", "ensure_binaries"]

CHECKSUMS_FILE = "checksums.json"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path
    etcd: Path
    helm: Path


# A group shares one cache directory and one build recipe: builder(workdir, out, progress, names).
Builder = Callable[[Path, Path, Progress, Sequence[str]], None]


@dataclass(frozen=True)
class _Group:
    label: str
    version: str
    directory: Path
    names: tuple[str, ...]
    builder: Builder


def _groups() -> list[_Group]:
    return [
        _Group("kubernetes", KUBERNETES_VERSION, kubernetes_bin_dir(), KUBERNETES_COMMANDS, gobuild.build_kubernetes),
        _Group(
            "etcd",
            ETCD_VERSION,
            etcd_bin_dir(),
            ("etcd",),
            lambda work, out, progress, _names: gobuild.build_etcd(work, out, progress),
        ),
        _Group(
            "helm",
            HELM_VERSION,
            helm_bin_dir(),
            ("helm",),
            lambda work, out, progress, _names: gobuild.build_helm(work, out, progress),
        ),
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_record(directory: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads((directory / CHECKSUMS_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def _is_valid(path: Path, entry: dict[str, object] | None) -> bool:
    """Cheap check first (size + mtime); a full sha256 only when the mtime moved. Refreshes the entry."""
    if entry is None:
        return False
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    if not os.access(path, os.X_OK) or st.st_size != entry.get("size"):
        return False
    if st.st_mtime_ns == entry.get("mtime_ns"):
        return True
    if _sha256(path) != entry.get("sha256"):
        return False
    entry["mtime_ns"] = st.st_mtime_ns  # touched or copied, same content: remember the new mtime
    return True


def _invalid_names(group: _Group) -> list[str]:
    record = _read_record(group.directory)
    before = json.dumps(record, sort_keys=True)
    invalid = [name for name in group.names if not _is_valid(group.directory / name, record.get(name))]
    if not invalid and json.dumps(record, sort_keys=True) != before:
        _write_record(group, (), record)
    return invalid


def _write_record(group: _Group, rebuilt: Sequence[str], record: dict[str, dict[str, object]] | None = None) -> None:
    record = _read_record(group.directory) if record is None else record
    for name in group.names:
        path = group.directory / name
        if name in rebuilt or name not in record:
            st = path.stat()
            record[name] = {"sha256": _sha256(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    payload = {"component": group.label, "version": group.version, "built_at": time.time(), "files": record}
    tmp = group.directory / f".{CHECKSUMS_FILE}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, group.directory / CHECKSUMS_FILE)


def _install(src: Path, dest: Path) -> None:
    """Move a freshly built binary into place; readers only ever see a complete file."""
    src.chmod(0o755)
    try:
        os.replace(src, dest)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
        shutil.copy2(src, tmp)
        os.replace(tmp, dest)


@contextlib.contextmanager
def _build_lock(progress: Progress) -> Iterator[None]:
    bin_root().mkdir(parents=True, exist_ok=True)
    lock_path = bin_root() / ".build.lock"
    with lock_path.open("a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"waiting for another process that is building the binaries (lock {lock_path})")
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _clear_stale_work() -> None:
    """Drop scratch directories of builds that died; only called while holding the build lock."""
    root = work_root()
    if root.is_dir():
        for child in root.iterdir():
            shutil.rmtree(child, ignore_errors=True)


def _build(group: _Group, names: Sequence[str], progress: Progress) -> None:
    work_root().mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"{group.label}-", dir=work_root()))
    out = workdir / "out"
    group.builder(workdir, out, progress, names)  # on failure the workdir stays for inspection
    group.directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        built = out / name
        if not built.is_file():
            raise BuildError(f"the {group.label} build finished but produced no {name} in {out}")
        _install(built, group.directory / name)
    _write_record(group, names)
    shutil.rmtree(workdir, ignore_errors=True)
    progress(f"{group.label} v{group.version} ready in {group.directory}")


def ensure_binaries(progress: Callable[[str], None] | None = None) -> Binaries:
    """Return the cached binaries, building whatever is missing or corrupt (needs `go` on PATH).

    Safe to call concurrently from several processes: builds are serialised by a file lock and a
    waiting caller reuses what the first one built.
    """
    report: Progress = progress or (lambda _msg: None)
    groups = _groups()
    pending = [(group, _invalid_names(group)) for group in groups]
    pending = [(group, names) for group, names in pending if names]
    if pending:
        with _build_lock(report):
            _clear_stale_work()
            for group, _stale in pending:
                names = _invalid_names(group)  # another process may have built it while we waited
                if names:
                    _build(group, names, report)
    k8s, etcd, helm = (group.directory for group in groups)
    return Binaries(
        kube_apiserver=k8s / "kube-apiserver",
        kube_controller_manager=k8s / "kube-controller-manager",
        kubectl=k8s / "kubectl",
        etcd=etcd / "etcd",
        helm=helm / "helm",
    )
