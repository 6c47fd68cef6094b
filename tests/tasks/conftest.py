"""Fixtures of the task-suite tests: the tiny random Llama from the user's model cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cogumi_workloads.assets.models import pull
from cogumi_workloads.tasks.evaluate import LoadedModel, load_model


@pytest.fixture(scope="session")
def tiny_llama_dir() -> Path:
    """``builtin://tiny-llama``, materialised once into ``${COGUMI_CACHE_DIR:-~/.cache/cogumi}``."""
    return pull("tiny-llama").path


@pytest.fixture(scope="session")
def tiny_lm(tiny_llama_dir: Path) -> Iterator[LoadedModel]:
    yield load_model(tiny_llama_dir)
