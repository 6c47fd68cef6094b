"""CompressionRun (plan phases 2A–2F)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from cogumi_api.common import DataRef, ModelRef, Teacher
from cogumi_api.meta import ApiModel, Common, rules

CompressionStage = Literal["prune", "quantize", "export", "pack", "recover", "calibrate"]
COMPRESSION_ORDER: tuple[str, ...] = CompressionStage.__args__  # type: ignore[attr-defined]


class Prune(ApiModel):
    method: Literal["sparsegpt", "wanda"] = "sparsegpt"
    sparsity: float = Field(default=0.65, ge=0, lt=1)
    """Final unstructured sparsity."""
    steps: int = Field(default=4, ge=1, le=32)
    """Gradual schedule: the target is reached in this many equal steps."""
    calibration: DataRef | None = None
    calibration_samples: int = Field(default=10_000, ge=1)


class Quantize(ApiModel):
    scheme: Literal["W4A16"] = "W4A16"
    group_size: int = Field(default=128, ge=16)
    backend: Literal["llmcompressor", "autoawq"] = "llmcompressor"
    grid: int = Field(default=20, ge=3, le=100)
    """Candidate scaling ratios AWQ's search tries per mapping (llmcompressor's `n_grid`): the cost of the stage
    grows with it; fewer may find slightly worse scales. llmcompressor backend only."""
    calibration: DataRef | None = None
    calibration_samples: int = Field(default=2048, ge=1)


class Export(ApiModel):
    quant_type: str = Field(default="Q5_K_M", pattern=r"^(F16|F32|BF16|Q[2-8](_[0-9A-Z]+)*|IQ[1-4]_[A-Z0-9_]+)$")
    """Any llama.cpp quantization type."""
    agreement_prompts: int = Field(default=64, ge=1)
    agreement_tokens: int = Field(default=32, ge=1)


class Pack(ApiModel):
    level: int = Field(default=10, ge=1, le=22)
    dictionary_bytes: int = Field(default=131_072, ge=0, le=16 * 1024 * 1024)
    """Size of the trained zstd dictionary; 0 packs without one."""


class Recover(ApiModel):
    hardest_examples: int = Field(default=512, ge=1)
    data: DataRef | None = None
    rank: int = Field(default=16, ge=1, le=512)
    steps: int = Field(default=200, ge=1)
    learning_rate: float = Field(default=2e-4, gt=0)
    teacher: Teacher | None = None
    """Enhances the hardest examples (plan 2E): the teacher answers each one's prompt and a verified answer
    replaces the example's own (a URL or a ModelDeployment; its `budget` caps the spend)."""


class Calibrate(ApiModel):
    data: DataRef | None = None
    samples: int = Field(default=500, ge=10)
    bins: int = Field(default=10, ge=2, le=100)


class CompressionRunSpec(Common):
    model_config = ConfigDict(json_schema_extra=rules(
        ("!self.stages.exists(s, s == 'pack') || self.stages.exists(s, s == 'export') || has(self.model)",
         "pack needs a model or an export stage before it"),
        ("!self.stages.exists(s, s == 'recover') || !self.stages.exists(s, s == 'export') || "
         "self.stages.exists(s, s == 'quantize') || self.stages.exists(s, s == 'prune')",
         "recover needs prune or quantize to recover from"),
    ))
    model: ModelRef
    """The model to compress (a Hugging Face folder)."""
    stages: list[CompressionStage] = Field(
        default=list(COMPRESSION_ORDER), min_length=1, max_length=6,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    """Stages to run, in the fixed order prune, quantize, export, pack, recover, calibrate."""
    prune: Prune = Field(default_factory=Prune)
    quantize: Quantize = Field(default_factory=Quantize)
    export: Export = Field(default_factory=Export)
    pack: Pack = Field(default_factory=Pack)
    recover: Recover = Field(default_factory=Recover)
    calibrate: Calibrate = Field(default_factory=Calibrate)
