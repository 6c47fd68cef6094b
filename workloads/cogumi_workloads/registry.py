"""Stage ids (``<kind lowercased>.<stage>``) mapped to their spec model and function.

Stage modules are imported only when their stage runs, so ``list`` and the refusal of an
unknown stage stay fast and a stage pays only for its own dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel

from cogumi_api.compression import CompressionRunSpec
from cogumi_api.data import DatasetSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError


@dataclass(frozen=True)
class StageDef:
    stage_id: str
    spec: type[BaseModel]
    """The kind's spec model; ``invocation.params`` is validated with it (unknown fields refused)."""
    module: str
    """Module under :mod:`cogumi_workloads.stages` whose ``run(ctx)`` does the work."""
    summary: str

    @property
    def run(self) -> Callable[[StageContext[Any]], None]:
        module = importlib.import_module(f"cogumi_workloads.stages.{self.module}")
        function: Callable[[StageContext[Any]], None] = module.run
        return function


STAGES: dict[str, StageDef] = {s.stage_id: s for s in (
    StageDef("dataset.ingest", DatasetSpec, "dataset_ingest",
             "read the Dataset's sources (JSONL files, builtin generators) into records.jsonl"),
    StageDef("dataset.dedup", DatasetSpec, "dataset_dedup", "remove near-duplicate prompts with MinHash LSH"),
    StageDef("dataset.filter", DatasetSpec, "dataset_filter", "drop records that break the quality rules"),
    StageDef("dataset.split", DatasetSpec, "dataset_split",
             "split records into train/validation/test by a seeded hash of their id"),
    StageDef("compressionrun.pack", CompressionRunSpec, "compressionrun_pack",
             "zstd-pack the model (trained dictionary) and verify that it unpacks byte for byte"),
)}


def package_version() -> str:
    try:
        return version("cogumi")
    except PackageNotFoundError:
        return "unknown"


def lookup(stage_id: str) -> StageDef:
    """The stage ``stage_id``; a :class:`PermanentError` when this version does not implement it."""
    stage = STAGES.get(stage_id)
    if stage is None:
        raise PermanentError(
            f"stage {stage_id!r} is not implemented in this version of cogumi-workloads "
            f"({package_version()}); implemented stages: {', '.join(sorted(STAGES))}")
    return stage
