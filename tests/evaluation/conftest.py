"""Fixtures of the Evaluation tests: stages run in-process through the real runner (one torch import per
session), on the builtin tiny random Llama."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("transformers", reason="the ml extra is not installed")


@dataclass
class Ran:
    code: int
    report: dict[str, Any]
    logs: str

    @property
    def metrics(self) -> dict[str, float]:
        return self.report["metrics"]

    def artifact(self, name: str) -> dict[str, Any]:
        return json.loads(Path(self.report["artifacts"][name]["uri"].removeprefix("file://")).read_text())


RunEval = Callable[..., Ran]


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """The stages set offline and progress-bar variables for their process; keep them out of other tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def tiny_llama() -> str:
    from cogumi_workloads.assets.models import resolve

    return resolve("tiny-llama").as_uri()


@pytest.fixture
def run_eval(tmp_path: Path) -> RunEval:
    """``evaluation.<stage>`` through :func:`cogumi_workloads.runtime.runner.execute` with a file:// result."""
    from cogumi_api.stage import ObjectRef, StageInvocation
    from cogumi_workloads.runtime import runner
    from cogumi_workloads.runtime.logs import JsonLogger

    def _run(stage: str, params: dict[str, Any], endpoints: dict[str, str] | None = None) -> Ran:
        result = tmp_path / f"result-{stage}.json"
        inv = StageInvocation(resource=ObjectRef(kind="Evaluation", name="ev", uid="u-1"), stage=stage,
                              params=params, endpoints=endpoints or {}, output=(tmp_path / "out" / stage).as_uri(),
                              result=result.as_uri())
        stream = io.StringIO()
        code = runner.execute(f"evaluation.{stage}", inv, JsonLogger(f"evaluation.{stage}", stream=stream))
        return Ran(code, json.loads(result.read_text()), stream.getvalue())

    return _run
