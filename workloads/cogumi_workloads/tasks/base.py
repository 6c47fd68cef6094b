"""What every task suite shares: the item model, split sizes and the two ways of splitting.

A suite either *partitions a fixed set* (HumanEval, BIG-bench): the items are shuffled by a
seeded RNG and sliced into test, validation and train; or *draws from a generator*
(reasoning-gym, our own generators): items are drawn in a fixed order and deduplicated by their
normalised prompt; the first ``test`` distinct prompts form the test split, the next ones the
validation split, the rest the train split. Either way the splits are disjoint and the same on
every machine for a given seed, and reading the test split never generates the train split.
"""

from __future__ import annotations

import json
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cogumi_api.common import Domain
from cogumi_workloads.records import normalise
from cogumi_workloads.runtime.errors import PermanentError

SplitName = Literal["train", "validation", "test"]
SPLITS: tuple[SplitName, ...] = ("train", "validation", "test")
DEFAULT_SEED = 0


class TaskItem(BaseModel):
    """One task: what the model is asked, a reference answer, and what the verifier needs.

    This is also the row format of the exported JSONL files (every field a string, so that
    ``datasets`` reads every domain with the same schema).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    domain: Domain
    prompt: str
    """The user message (the chat template is applied by the evaluator)."""
    answer: str
    """A reference answer: a training target and what a report shows. The verifier decides."""
    check: str = "{}"
    """JSON object with the data the domain's verifier needs (tests, schema, constraints, ...)."""
    source: str
    """Provenance, e.g. ``reasoning-gym==0.1.25:syllogism#17``."""

    def data(self) -> dict[str, Any]:
        value = json.loads(self.check)
        if not isinstance(value, dict):
            raise PermanentError(f"task {self.id}: check must be a JSON object")
        return value


def check_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


class SplitSizes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    train: int = Field(ge=0)
    validation: int = Field(ge=0)
    test: int = Field(ge=1)

    def of(self, split: SplitName) -> int:
        return int(getattr(self, split))

    @property
    def total(self) -> int:
        return self.train + self.validation + self.test


class Suite(ABC):
    """A domain's tasks, splits and exact verifier."""

    domain: ClassVar[Domain]
    source: ClassVar[str]
    """Where the tasks come from (documented in :mod:`cogumi_workloads.tasks`)."""
    sizes: ClassVar[SplitSizes]
    max_new_tokens: ClassVar[int]
    """Default generation budget for this domain's answers."""

    def settled(self, completion: str) -> bool:
        """Whether more tokens can no longer change the verdict on ``completion`` (generation may stop).

        False by default; a suite overrides it only where its extraction rule makes the rest of
        the reply irrelevant, so stopping early never changes a result.
        """
        return False

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.seed = seed
        self._cache: dict[SplitName, list[TaskItem]] = {}

    def split(self, name: SplitName, limit: int | None = None) -> list[TaskItem]:
        """The split ``name`` (its first ``limit`` items when given), identical on every call."""
        if name not in SPLITS:
            raise PermanentError(f"unknown split {name!r}; splits: {', '.join(SPLITS)}")
        if name not in self._cache:
            self._cache[name] = self._build_split(name)
        items = self._cache[name]
        return items[:limit] if limit is not None else list(items)

    def rng(self, purpose: str) -> random.Random:
        return random.Random(f"cogumi:{self.domain}:{purpose}:{self.seed}")

    @abstractmethod
    def _build_split(self, name: SplitName) -> list[TaskItem]:
        """Every item of split ``name`` (use :func:`partition` or :func:`draw`)."""

    @abstractmethod
    def verify(self, item: TaskItem, completion: str) -> bool:
        """Whether ``completion`` (the model's reply to ``item.prompt``) solves ``item``."""


def partition(items: list[TaskItem], sizes: SplitSizes, rng: random.Random, name: SplitName) -> list[TaskItem]:
    """Split ``name`` of a fixed set: a seeded shuffle sliced into test, validation, train."""
    if len(items) < sizes.total:
        raise PermanentError(f"{len(items)} items cannot fill splits of {sizes.total}")
    order = sorted(items, key=lambda item: item.id)
    rng.shuffle(order)
    start = {"test": 0, "validation": sizes.test, "train": sizes.test + sizes.validation}[name]
    return order[start:start + sizes.of(name)]


def draw(make: Callable[[int], TaskItem | None], sizes: SplitSizes, name: SplitName,
         max_tries: int = 20) -> list[TaskItem]:
    """Split ``name`` of a generated suite: ``make(0), make(1), ...`` deduplicated, test first.

    ``make`` returns ``None`` for an index whose item is unusable (it is skipped).
    """
    wanted = {"test": (0, sizes.test), "validation": (sizes.test, sizes.validation),
              "train": (sizes.test + sizes.validation, sizes.train)}[name]
    skip, count = wanted
    out: list[TaskItem] = []
    for position, item in enumerate(_distinct(make, (sizes.test + sizes.validation + sizes.train) * max_tries)):
        if position >= skip + count:
            break
        if position >= skip:
            out.append(item)
    if len(out) < count:
        raise PermanentError(f"the generator produced only {skip + len(out)} distinct prompts, "
                             f"fewer than the {skip + count} needed for split {name}")
    return out


def _distinct(make: Callable[[int], TaskItem | None], limit: int) -> Iterator[TaskItem]:
    seen: set[str] = set()
    for index in range(limit):
        item = make(index)
        if item is None:
            continue
        key = normalise(item.prompt)
        if key not in seen:
            seen.add(key)
            yield item
