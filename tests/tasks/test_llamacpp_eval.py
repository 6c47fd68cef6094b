"""Evaluation through llama.cpp (SmolLM2-135M-Instruct's real Q4_1 GGUF) and its completion cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogumi_workloads.serve.ggufkit import random_lora, smollm2_gguf
from cogumi_workloads.tasks.llamacpp import EvalCache, GgufEvaluator
from cogumi_workloads.tasks.registry import get_suite

pytestmark = pytest.mark.slow
pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gguf")
    base = smollm2_gguf(folder)
    return {"base": base, "lora": random_lora(base, folder / "random.gguf", scale=0.2)}


def test_repeat_evaluations_are_read_back_and_changes_miss(tmp_path: Path, files: dict[str, Path]) -> None:
    suite = get_suite("math")
    items = suite.split("validation", 3)
    cache = EvalCache(tmp_path / "evals")
    with GgufEvaluator(files["base"], {"random": files["lora"]}, threads=1, cache=cache) as evaluator:
        first = evaluator.evaluate(suite, items, split="validation", max_new_tokens=24)
        assert (cache.hits, cache.misses) == (0, 1) and first.n == 3
        assert all(o.completion for o in first.items)
    with GgufEvaluator(files["base"], {"random": files["lora"]}, threads=1, cache=cache) as evaluator:
        again = evaluator.evaluate(suite, items, split="validation", max_new_tokens=24)
        assert (cache.hits, cache.misses) == (1, 1)
        assert evaluator._backend is None  # a hit loads no model
        assert [o.completion for o in again.items] == [o.completion for o in first.items]
        assert [o.correct for o in again.items] == [o.correct for o in first.items]  # verified again on read
        evaluator.evaluate(suite, items, split="validation", max_new_tokens=16)  # another budget
        assert cache.misses == 2
        adapted = evaluator.evaluate(suite, items, split="validation", adapter="random", max_new_tokens=24)
        assert cache.misses == 3  # another adapter
        assert [o.completion for o in adapted.items] != [o.completion for o in first.items]
        evaluator.evaluate(suite, items[:2], split="validation", max_new_tokens=24)  # other items
        assert cache.misses == 4
    assert len(list((tmp_path / "evals").glob("*.json"))) == 4


def test_an_unknown_adapter_is_refused(tmp_path: Path, files: dict[str, Path]) -> None:
    from cogumi_workloads.runtime.errors import PermanentError

    suite = get_suite("math")
    with GgufEvaluator(files["base"], threads=1, cache=EvalCache(tmp_path)) as evaluator, \
            pytest.raises(PermanentError, match="adapter 'code' is not loaded"):
        evaluator.evaluate(suite, suite.split("validation", 1), adapter="code")
