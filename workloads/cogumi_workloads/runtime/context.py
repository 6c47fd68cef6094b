"""The object every stage function receives."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from cogumi_api.meta import Artifact
from cogumi_api.stage import StageInvocation
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.digest import artifact
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger, progress

SpecT = TypeVar("SpecT", bound=BaseModel)
T = TypeVar("T")


@dataclass
class StageContext(Generic[SpecT]):
    """Invocation, typed spec, verified inputs, output helpers, metrics, artifacts and the logger.

    Stages write with :func:`cogumi_workloads.runtime.uris.atomic_file` / ``atomic_dir`` under
    :meth:`output_path`, then call :meth:`publish` to record (and, for s3://, upload) the artifact.
    """

    stage_id: str
    invocation: StageInvocation
    spec: SpecT
    log: JsonLogger
    workdir: Path
    """A private scratch folder, removed when the stage ends."""
    inputs: dict[str, Path] = field(default_factory=dict)
    """Local paths of the verified input artifacts, by name."""
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    message: str = ""
    """A one-line summary for the stage's status message (default: "<stage> succeeded")."""

    @property
    def output_uri(self) -> str:
        return self.invocation.output

    def input(self, *names: str) -> tuple[str, Path]:
        """The first of ``names`` present in the inputs, with its local path."""
        for name in names:
            if name in self.inputs:
                return name, self.inputs[name]
        have = ", ".join(sorted(self.inputs)) or "none"
        raise PermanentError(f"stage {self.stage_id} needs input artifact {' or '.join(map(repr, names))} "
                             f"(inputs given: {have})")

    def output_path(self, relname: str) -> Path:
        """Local path where the output ``relname`` is written (a staging path for remote outputs)."""
        if uris.is_remote(self.output_uri):
            path = self.workdir / "staging" / relname
        else:
            path = uris.local_path(uris.join(self.output_uri, relname))
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def publish(self, name: str, relname: str) -> Artifact:
        """Digest the written output ``relname`` and record it as artifact ``name``."""
        uri = uris.join(self.output_uri, relname)
        local = self.output_path(relname)
        result = artifact(uri, local)
        if uris.is_remote(uri):
            uris.publish(local, uri)
        self.artifacts[name] = result
        self.log.info("artifact written", artifact=name, uri=uri, sha256=result.sha256, bytes=result.bytes)
        return result

    def progress(self, items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
        return progress(items, self.log, desc, total)
