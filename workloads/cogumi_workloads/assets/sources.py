"""Task data extracted from registry packages that are never installed.

``bigbench-physics``
    ``benchmark_tasks/physics/task.json`` (229 problems: pick the formula a physics word problem
    needs) and ``benchmark_tasks/physical_intuition/task.json`` (81 questions about physical
    systems) from the ``bigbench==1.0.0`` sdist (Apache-2.0), downloaded once (358 MB, hash-pinned)
    with ``pip download --no-deps --no-binary :all:`` and read as a stream: only these two files
    are written. BIG-bench asks that its data never appear in training corpora (its canary
    string is kept in the files); the science suite's train split is for our own modifier
    experiments, and anything published from them must respect that request.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from cogumi_workloads.assets.pip import Dist, fetch
from cogumi_workloads.assets.store import Asset, BuildContext, materialise
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger

BIGBENCH = Dist("bigbench", "1.0.0", "bigbench-1.0.0.tar.gz",
                "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2", sdist=True, legacy_pip=True)
BIGBENCH_TASKS = ("physics", "physical_intuition")


def _member(task: str) -> str:
    return f"bigbench-{BIGBENCH.version}/bigbench/benchmark_tasks/{task}/task.json"


def build_bigbench_physics(dest: Path, ctx: BuildContext) -> None:
    sdist = fetch(BIGBENCH, ctx.root / "downloads", ctx.log)
    wanted = {_member(task): task for task in BIGBENCH_TASKS}
    with tarfile.open(sdist, "r|gz") as archive:
        for member in archive:
            task = wanted.pop(member.name, None)
            if task is None:
                continue
            handle = archive.extractfile(member)
            if handle is None:
                raise PermanentError(f"{member.name} in {sdist.name} is not a regular file")
            data = handle.read()
            json.loads(data)  # refuse a corrupt file now rather than at evaluation time
            (dest / f"{task}.json").write_bytes(data)
            if not wanted:
                break
    if wanted:
        raise PermanentError(f"{sdist.name} lacks {', '.join(sorted(wanted))}")


SOURCES: dict[str, Asset] = {a.name: a for a in (
    Asset("bigbench-physics", f"{BIGBENCH.version}-r1", "sources", "BIG-bench physics + physical_intuition task JSON",
          f"bigbench=={BIGBENCH.version} sdist (Apache-2.0): benchmark_tasks/{{physics,physical_intuition}}/task.json",
          build_bigbench_physics),
)}


def source_path(name: str, log: JsonLogger | None = None) -> Path:
    """The folder of the source asset ``name``, materialised on first use."""
    if name not in SOURCES:
        raise PermanentError(f"unknown task source {name!r}; sources: {', '.join(sorted(SOURCES))}")
    return materialise(SOURCES[name], log=log).path
