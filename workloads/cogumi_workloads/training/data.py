"""Training data from a :class:`DataRef`, and the verifier its validation items are scored with.

- ``suite: <domain>``: the builtin suite's train split for training, its validation split for
  validation, scored by the suite's own verifier;
- ``dataset: <name>``: the operator replaces it by ``uri:`` of the Dataset's ``dataset`` artifact,
  a folder with ``train.jsonl``, ``validation.jsonl`` (and ``test.jsonl``);
- ``uri:`` of a folder like that, or of one JSONL file (every line trains; no validation split).

JSONL rows need ``prompt`` and ``answer`` (``id``/``domain`` are used when present). Rows of a
folder or file are scored against their reference answer by :class:`ReferenceSuite` (exact, after
extracting the final answer). ``limit`` caps the training rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar

from cogumi_api.common import DataRef
from cogumi_workloads.records import normalise, read_jsonl
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.tasks import extract
from cogumi_workloads.tasks.base import SplitName, SplitSizes, Suite, TaskItem
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.training.sft import Example

VALIDATION_CAP = 100
"""At most this many validation items are scored (generation is the slow part on a CPU)."""


class ReferenceSuite(Suite):
    """Scores a reply against the item's reference answer.

    A numeric reference must equal the reply's number (:func:`extract.number`); a JSON-object
    reference must equal the first JSON object of the reply; any other reference must equal the
    reply's final answer (:func:`extract.final_answer`) after lower-casing and collapsing spaces.
    """

    domain: ClassVar[Any] = "general"
    source = "reference answers of the training data"
    sizes = SplitSizes(train=0, validation=0, test=1)
    max_new_tokens = 128

    def _build_split(self, name: SplitName) -> list[TaskItem]:
        return []

    def verify(self, item: TaskItem, completion: str) -> bool:
        reference = item.answer.strip()
        try:
            wanted = Decimal(reference.replace(",", ""))
        except InvalidOperation:
            wanted = None
        if wanted is not None and wanted.is_finite():
            return extract.number(completion) == wanted
        if reference.startswith("{"):
            try:
                obj = json.loads(reference)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                return extract.json_object(completion) == obj
        return normalise(extract.final_answer(completion)) == normalise(reference)


@dataclass
class TrainingData:
    train: list[TaskItem]
    validation: list[TaskItem]
    suite: Suite
    """The verifier of the train and validation items."""
    origin: str

    def examples(self) -> list[Example]:
        return [Example(item.prompt, item.answer) for item in self.train]


def item_from_row(row: dict[str, Any], index: int, origin: str) -> TaskItem:
    """A :class:`TaskItem` for a prompt/answer row (validated only by the :class:`ReferenceSuite`)."""
    return TaskItem.model_construct(id=str(row.get("id", f"row-{index}")), domain=str(row.get("domain", "general")),
                                    prompt=str(row["prompt"]), answer=str(row["answer"]), check="{}", source=origin)


def _rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, obj in read_jsonl(path):
        if not isinstance(obj.get("prompt"), str) or not isinstance(obj.get("answer"), str):
            raise PermanentError(f"{path}:{number}: needs string fields prompt and answer")
        rows.append(obj)
    return rows


def load(ctx: StageContext[Any], ref: DataRef, field: str = "spec.data") -> TrainingData:
    """The training examples and validation items ``ref`` names."""
    if ref.suite is not None:
        suite = get_suite(ref.suite)
        return TrainingData(suite.split("train", ref.limit), suite.split("validation", VALIDATION_CAP), suite,
                            f"suite:{ref.suite}")
    if field in ctx.inputs:
        path = ctx.inputs[field]
    elif ref.uri is not None:
        path = uris.fetch(ref.uri, ctx.workdir / "data")
    else:
        raise PermanentError(f"{field}: the Dataset {ref.dataset!r} was not resolved to a uri")
    origin = ref.uri or str(path)
    if path.is_dir():
        if not (path / "train.jsonl").is_file():
            raise PermanentError(f"{origin} is a folder without train.jsonl (expected a Dataset's split folder)")
        train_rows = _rows(path / "train.jsonl")
        val_rows = _rows(path / "validation.jsonl") if (path / "validation.jsonl").is_file() else []
    else:
        train_rows, val_rows = _rows(path), []
    if ref.limit is not None:
        train_rows = train_rows[:ref.limit]
    train = [item_from_row(r, i, origin) for i, r in enumerate(train_rows)]
    validation = [item_from_row(r, i, origin) for i, r in enumerate(val_rows[:VALIDATION_CAP])]
    return TrainingData(train, validation, ReferenceSuite(), origin)
