"""RouterModel (phases 6, 13) and ModelDeployment (phases 8, 10–12)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from cogumi_api.common import DataRef, Domain, ModelRef
from cogumi_api.meta import ApiModel, Common, Resources, rules


class Escalation(ApiModel):
    """Escalation detector: a small student distilled from a larger teacher classifier."""

    enabled: bool = True
    examples: int = Field(default=2000, ge=10)
    max_latency_ms: float = Field(default=3.0, gt=0)


class Adaptive(ApiModel):
    """Threshold learning from logged interactions (logistic regression)."""

    logs: DataRef | None = None
    schedule: str | None = None
    """Cron schedule of retraining, e.g. "0 3 * * *"; once when unset."""


class RouterModelSpec(Common):
    model_config = ConfigDict(json_schema_extra=rules(
        ("self.thresholds.all(t, t > 0.0 && t < 1.0)", "every threshold must lie strictly between 0 and 1"),
    ))
    embedder: ModelRef | None = None
    """Sentence embedder; the builtin MiniLM when unset."""
    domains: list[Domain] = Field(min_length=2, json_schema_extra={"x-kubernetes-list-type": "set"})
    examples_per_domain: int = Field(default=400, ge=10)
    hidden: list[int] = Field(default=[256, 128], min_length=2, max_length=2)
    """Widths of the two hidden layers of the 3-layer MLP."""
    thresholds: list[float] = Field(default=[0.75, 0.8, 0.85], min_length=1, max_length=64)
    escalation: Escalation = Field(default_factory=Escalation)
    adaptive: Adaptive | None = None


class Modifier(ApiModel):
    domain: Domain
    adapter: ModelRef
    """LoRA adapter (peft folder or GGUF LoRA)."""


class SelfConsistency(ApiModel):
    samples: int = Field(default=5, ge=1, le=32)
    temperature: float = Field(default=0.7, ge=0, le=2)


class Memory(ApiModel):
    enabled: bool = True
    last_n: int = Field(default=5, ge=1, le=100)


class Replicas(ApiModel):
    model_config = ConfigDict(json_schema_extra=rules(
        ("self.min <= self.max", "replicas.min must not exceed replicas.max"),
    ))
    min: int = Field(default=1, ge=0)
    max: int = Field(default=1, ge=1)


_ADAPTER_FORMAT = ("every modifiers[].adapter.format must equal model.format: a GGUF model loads GGUF LoRAs "
                   "(format: gguf; a ModifierTraining publishes its adapter as one too), an HF model peft folders "
                   "(format: hf)")


class ModelDeploymentSpec(ApiModel):
    model_config = ConfigDict(json_schema_extra=rules(
        ("self.modifiers.all(m, self.modifiers.filter(n, n.domain == m.domain).size() == 1)",
         "one modifier per domain"),
        ("self.modifiers.all(m, (has(m.adapter.format) ? m.adapter.format : 'hf') == "
         "(has(self.model.format) ? self.model.format : 'hf'))", _ADAPTER_FORMAT),
    ))
    model: ModelRef
    modifiers: list[Modifier] = Field(default=[], max_length=8)
    router: ModelRef | None = None
    mode: Literal["fast", "accurate"] = "fast"
    self_consistency: SelfConsistency = Field(default_factory=SelfConsistency)
    self_critique: bool = False
    memory: Memory = Field(default_factory=Memory)
    ui: bool = True
    replicas: Replicas = Field(default_factory=Replicas)
    resources: Resources = Field(default_factory=Resources)
    image: str | None = None
    """Predictor image; the operator's default when empty."""
    suspend: bool = False

    @model_validator(mode="after")
    def _adapter_format(self) -> ModelDeploymentSpec:
        # The CEL rule above, so the server and `cogumi run` refuse what the API server refuses.
        wrong = [m.domain for m in self.modifiers if m.adapter.format != self.model.format]
        if wrong:
            raise ValueError(f"{_ADAPTER_FORMAT} (model.format is {self.model.format}; differs: {', '.join(wrong)})")
        return self
