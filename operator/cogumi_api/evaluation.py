"""Evaluation (phases 9A, 9C): lm-eval tasks and domain suites with thresholds, speed."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from cogumi_api.common import Domain, ModelRef
from cogumi_api.meta import ApiModel, Common, rules

LmEvalTask = Literal["cogumi_code", "cogumi_reasoning", "cogumi_automation", "cogumi_math", "cogumi_hard_math",
                     "cogumi_science", "cogumi_finance", "cogumi_creative"]
"""The lm-eval tasks of the project's exported task YAMLs: `cogumi_<domain>` (`-` written `_`)."""

_ONE_SOURCE = "set exactly one of suite or lmEvalTask"
_ONE_TARGET = "set exactly one of model or deployment"
_UNIQUE = "task names must be unique"
_THRESHOLD = ("set spec.baseline, or minAccuracy on every task (a task without minAccuracy is compared with the "
              "baseline)")
_LMEVAL_API = ("lmEvalTask runs an HF folder in lm-eval's harness; for a deployment use suite (the same items and "
               "verifier)")


class EvalTask(ApiModel):
    model_config = ConfigDict(json_schema_extra=rules(
        ("has(self.suite) != has(self.lmEvalTask)", _ONE_SOURCE),
    ))
    name: str = Field(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=40)
    """Names the task's metrics (`suites.<name>.passed`, `.accuracy`, `.threshold`, ...); starts with a letter."""
    suite: Domain | None = None
    """A builtin domain suite (its test split), scored by the suite's exact verifier, e.g. `math`."""
    lm_eval_task: LmEvalTask | None = None
    """An lm-eval task of the project's exported task YAMLs (e.g. `cogumi_math`), run by lm-eval's own harness
    (`simple_evaluate`, offline) on the same test items and verifier as the suite. Needs an HF model folder."""
    limit: int | None = Field(default=None, ge=1)
    """The first `limit` test items (all of the split when unset); the baseline answers the same items."""
    max_new_tokens: int | None = Field(default=None, ge=1)
    """Answer budget in tokens; the suite's own budget when unset."""
    min_accuracy: float | None = Field(default=None, ge=0, le=1)
    """PASS when the accuracy is at least this. When unset the threshold is the baseline model's accuracy on the
    same items: PASS means at least as good as the base (accuracy >= baseline), and `spec.baseline` is required."""

    @model_validator(mode="after")
    def _one_source(self) -> EvalTask:
        if (self.suite is None) == (self.lm_eval_task is None):
            raise ValueError(f"task {self.name!r}: {_ONE_SOURCE}")
        return self


class Speed(ApiModel):
    """Generation speed through the same path as the suites (transformers, llama.cpp or the deployment's API):
    tokens/s = completion tokens / wall seconds over fixed prompts, greedy, one request at a time."""

    enabled: bool = True
    max_new_tokens: int = Field(default=128, ge=1)
    min_tokens_per_second: float | None = Field(default=None, gt=0)
    """When set, the gate `speed.tokensPerSecond >= minTokensPerSecond` applies (unless `spec.gates` is given)."""


class EvaluationSpec(Common):
    model_config = ConfigDict(json_schema_extra=rules(
        ("has(self.model) != has(self.deployment)", _ONE_TARGET),
        ("self.tasks.all(t, self.tasks.exists_one(u, u.name == t.name))", _UNIQUE),
        ("has(self.baseline) || self.tasks.all(t, has(t.minAccuracy))", _THRESHOLD),
        ("!has(self.deployment) || self.tasks.all(t, !has(t.lmEvalTask))", _LMEVAL_API),
    ))
    model: ModelRef | None = None
    """The model to evaluate (HF folder or GGUF file), run inside the stage Job."""
    deployment: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    """Name of a ModelDeployment in the same namespace, evaluated through its OpenAI-compatible API. The run waits
    until the deployment is Ready and then uses the URL on its status."""
    baseline: ModelRef | None = None
    """The base to compare with: evaluated on the same items (inside the stage Job, also for a deployment); a task
    without `minAccuracy` passes when it scores at least the baseline's accuracy."""
    tasks: list[EvalTask] = Field(min_length=1, max_length=32)
    speed: Speed = Field(default_factory=Speed)
    backend: Literal["auto", "hf", "gguf"] = "auto"
    """How `model` and `baseline` run: transformers (hf), llama-cpp-python (gguf), or by the reference's
    `format` / a `.gguf` file (auto). Not used for a deployment."""

    @model_validator(mode="after")
    def _consistent(self) -> EvaluationSpec:
        # The same rules as the CEL above, so `cogumi run` and the stages refuse what the API server refuses.
        if (self.model is None) == (self.deployment is None):
            raise ValueError(_ONE_TARGET)
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"{_UNIQUE}: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
        if self.baseline is None and any(t.min_accuracy is None for t in self.tasks):
            raise ValueError(_THRESHOLD)
        if self.deployment is not None and any(t.lm_eval_task for t in self.tasks):
            raise ValueError(_LMEVAL_API)
        return self
