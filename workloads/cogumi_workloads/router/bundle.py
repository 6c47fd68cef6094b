"""Artifact folders of the router and the escalation detector: a manifest with every file's sha256.

Every folder has ``manifest.json`` with ``format`` (e.g. ``cogumi.router/v1``) and ``files``:
``{relpath: {"sha256", "bytes"}}`` for every other file under it (sub-folders included). Readers
refuse a folder whose files are missing, extra or altered.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from cogumi_workloads.runtime.digest import folder_files, sha256_file
from cogumi_workloads.runtime.errors import PermanentError

MANIFEST = "manifest.json"


class ArtifactError(PermanentError):
    """A router or escalation folder that is missing, of another format, or fails verification."""


def file_entries(folder: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file under ``folder`` except its top-level manifest."""
    entries: dict[str, dict[str, Any]] = {}
    for path in folder_files(folder):
        rel = path.relative_to(folder).as_posix()
        if rel != MANIFEST:
            entries[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return entries


def write_manifest(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write ``manifest`` (plus ``files``) as ``folder/manifest.json``; returns what was written."""
    full = {**manifest, "files": file_entries(folder)}
    (folder / MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return full


def read_manifest(folder: Path, expected_format: str, verify: bool = True) -> dict[str, Any]:
    """The manifest of ``folder``; :class:`ArtifactError` unless format and (when ``verify``) files match."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{folder} is not a {expected_format} folder: it has no {MANIFEST}")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc
    found = manifest.get("format")
    if found != expected_format:
        raise ArtifactError(f"{folder} holds format {found!r}; expected {expected_format!r}")
    if verify:
        expected = manifest.get("files") or {}
        actual = file_entries(folder)
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        altered = sorted(rel for rel in set(expected) & set(actual)
                         if expected[rel].get("sha256") != actual[rel]["sha256"])
        if missing or extra or altered:
            raise ArtifactError(f"{folder} failed verification: missing {missing}, unexpected {extra}, "
                                f"altered {altered}")
    return manifest


def copy_files(src: Path, dest: Path, skip: tuple[str, ...] = (MANIFEST,)) -> None:
    """Copy every file of ``src`` into ``dest`` (same relative paths), except the top-level ``skip``."""
    for path in folder_files(src):
        rel = path.relative_to(src)
        if rel.as_posix() in skip:
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
