"""BaseTraining, FailureAnalysis, ModifierTraining and MetaLearning (phases 1, 3–5, 7, 14)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from cogumi_api.common import DataRef, Domain, ModelRef, Teacher
from cogumi_api.meta import ApiModel, Common, rules


class Lora(ApiModel):
    rank: int | None = Field(default=None, ge=1, le=1024)
    """LoRA rank; the domain's default rank when unset."""
    alpha: int | None = Field(default=None, ge=1)
    """Scaling; twice the rank when unset."""
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default=["q_proj", "k_proj", "v_proj", "o_proj",
                                                               "gate_proj", "up_proj", "down_proj"])


class Training(ApiModel):
    epochs: float = Field(default=1.0, gt=0)
    max_steps: int | None = Field(default=None, ge=1)
    learning_rate: float = Field(default=2e-4, gt=0)
    batch_size: int = Field(default=8, ge=1)
    max_seq_length: int = Field(default=512, ge=16)
    seed: int = 0


class Distillation(ApiModel):
    """Bidirectional distillation pairs (plan 1C) built from a teacher's answers."""

    teacher: Teacher
    pairs: int = Field(default=1000, ge=1)


class BaseTrainingSpec(Common):
    base_model: ModelRef
    data: DataRef
    method: Literal["qlora", "lora"] = "qlora"
    """qlora (4-bit NF4) needs CUDA; on a CPU the stage trains plain LoRA and says so on status."""
    lora: Lora = Field(default_factory=Lora)
    training: Training = Field(default_factory=Training)
    distillation: Distillation | None = None


class Clusters(ApiModel):
    model_config = ConfigDict(json_schema_extra=rules(
        ("!has(self.k) || (self.k >= self.kMin && self.k <= self.kMax)", "k must lie within kMin..kMax"),
        ("self.kMin <= self.kMax", "kMin must not exceed kMax"),
    ))
    k: int | None = Field(default=None, ge=2)
    """Number of clusters; chosen by silhouette within kMin..kMax when unset."""
    k_min: int = Field(default=2, ge=2)
    k_max: int = Field(default=12, ge=2)


class ModelEvaluation(ApiModel):
    """How the stages score the base and the base with its adapter."""

    engine: Literal["llama-cpp", "transformers"] = "llama-cpp"
    """`llama-cpp` (default): what a ModelDeployment of a GGUF base serves, the base converted by llama.cpp's
    converter at `quantType` with the adapter as a GGUF LoRA, greedy, each suite's stop criteria; repeated
    evaluations of the same model, adapter, items and budget are read from a cache. `transformers`: the HF folder
    in float32 (bf16 on CUDA) with the peft adapter, batched."""
    quant_type: str = Field(default="F16", pattern=r"^[A-Z0-9_]+$")
    """llama.cpp type of the evaluated base GGUF (F16 keeps the trained weights; Q8_0 is what the MVP serves)."""


class FailureAnalysisSpec(Common):
    model: ModelRef
    suites: list[Domain] = Field(min_length=1, json_schema_extra={"x-kubernetes-list-type": "set"})
    samples_per_suite: int = Field(default=200, ge=1)
    embedder: ModelRef | None = None
    """Sentence embedder; the builtin MiniLM when unset."""
    clusters: Clusters = Field(default_factory=Clusters)
    labeler: Teacher | None = None
    evaluation: ModelEvaluation = Field(default_factory=ModelEvaluation)


class AdapterCompression(ApiModel):
    method: Literal["none", "svd", "int8"] = "svd"
    target_rank: int | None = Field(default=None, ge=1)
    """Rank after SVD truncation; half the trained rank when unset."""
    gguf: bool = True
    """Also write the compressed adapter as a llama.cpp GGUF LoRA (f16; artifact `gguf`): what a ModelDeployment
    of a GGUF base loads (`adapter: {fromResource: ModifierTraining/<name>, format: gguf}`). Needs a Hugging Face
    base folder and llama.cpp's converter (the workload image's `compress` extra)."""


class ModifierTrainingSpec(Common):
    model_config = ConfigDict(json_schema_extra=rules(
        ("self.teachers.all(t, self.teachers.filter(u, u.name == t.name).size() == 1)",
         "teacher names must be unique"),
    ))
    domain: Domain
    base_model: ModelRef
    teachers: list[Teacher] = Field(default=[], max_length=8)
    """Cascade tiers in order: only what a tier fails or cannot verify escalates to the next."""
    samples: int = Field(default=500, ge=1)
    """Domain tasks used to find the base model's failures."""
    lora: Lora = Field(default_factory=Lora)
    training: Training = Field(default_factory=Training)
    compression: AdapterCompression = Field(default_factory=AdapterCompression)
    evaluation: ModelEvaluation = Field(default_factory=ModelEvaluation)


class FewShot(ApiModel):
    k: int = Field(default=3, ge=0, le=16)
    store_size: int = Field(default=256, ge=1)


class MetaLearningSpec(Common):
    base_model: ModelRef
    domains: list[Domain] = Field(min_length=2, json_schema_extra={"x-kubernetes-list-type": "set"})
    algorithm: Literal["fomaml", "reptile"] = "reptile"
    inner_steps: int = Field(default=4, ge=1)
    meta_steps: int = Field(default=100, ge=1)
    inner_learning_rate: float = Field(default=1e-4, gt=0)
    meta_learning_rate: float = Field(default=0.1, gt=0)
    lora: Lora = Field(default_factory=lambda: Lora(rank=16))
    few_shot: FewShot = Field(default_factory=FewShot)
    held_out_per_domain: int = Field(default=50, ge=1)
    """Held-out tasks per domain (from its test split) that the gate scores with and without few-shot examples."""
    evaluation: ModelEvaluation = Field(default_factory=ModelEvaluation)
