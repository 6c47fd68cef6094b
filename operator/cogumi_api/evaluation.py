"""Evaluation (phases 9A, 9C): lm-eval tasks and domain suites with thresholds, speed."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from cogumi_api.common import ModelRef
from cogumi_api.meta import ApiModel, Common, rules


class EvalTask(ApiModel):
    model_config = ConfigDict(json_schema_extra=rules(
        ("has(self.suite) != has(self.lmEvalTask)", "set exactly one of suite or lmEvalTask"),
    ))
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=40)
    suite: str | None = None
    """A builtin domain suite, e.g. `math`."""
    lm_eval_task: str | None = None
    """An lm-eval task name from the project's local task YAMLs."""
    limit: int | None = Field(default=None, ge=1)
    min_accuracy: float | None = Field(default=None, ge=0, le=1)
    """PASS when accuracy is at least this; the base model's accuracy when unset."""


class Speed(ApiModel):
    enabled: bool = True
    max_new_tokens: int = Field(default=128, ge=1)
    min_tokens_per_second: float | None = Field(default=None, gt=0)


class EvaluationSpec(Common):
    model_config = ConfigDict(json_schema_extra=rules(
        ("has(self.model) != has(self.deployment)", "set exactly one of model or deployment"),
    ))
    model: ModelRef | None = None
    deployment: str | None = None
    """Name of a ModelDeployment in the same namespace to evaluate through its API."""
    baseline: ModelRef | None = None
    tasks: list[EvalTask] = Field(min_length=1, max_length=32)
    speed: Speed = Field(default_factory=Speed)
    backend: Literal["auto", "hf", "gguf"] = "auto"
