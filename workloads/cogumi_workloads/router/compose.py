"""The final ``router`` bundle: the trained router plus its chosen threshold and escalation detector.

The thresholds stage (and the adapt stage after it) republish ``router`` as one self-contained folder,
so the resource's ``router`` artifact — the last writer wins — is all the server needs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from cogumi_workloads.router.bundle import copy_files, read_manifest, write_manifest
from cogumi_workloads.router.escalation import FORMAT as ESCALATION_FORMAT
from cogumi_workloads.router.loader import ESCALATION_DIR, FORMAT


def compose(dest: Path, router: Path, updates: dict[str, Any], files: dict[str, Any],
            escalation: Path | None = None) -> dict[str, Any]:
    """Write into ``dest`` the files of ``router`` and ``escalation`` plus JSON ``files``; update the manifest."""
    manifest = read_manifest(router, FORMAT)
    copy_files(router, dest)
    if escalation is not None:
        read_manifest(escalation, ESCALATION_FORMAT)
        target = dest / ESCALATION_DIR
        if target.exists():
            shutil.rmtree(target)
        copy_files(escalation, target, skip=())
        manifest["escalation"] = ESCALATION_DIR
    for name, content in files.items():
        (dest / name).write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    manifest.update(updates)
    manifest.pop("files", None)
    return write_manifest(dest, manifest)
