"""Dataset (plan phase 0): ingest → dedup → quality filter → split."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from cogumi_api.meta import ApiModel, Common, rules

GeneratorName = Literal["arithmetic", "percent", "interest", "tool-call"]


class Generator(ApiModel):
    """A builtin generator of verifiable prompt/answer pairs."""

    name: GeneratorName
    count: int = Field(default=1000, ge=1, le=1_000_000)
    seed: int = 0


class Source(ApiModel):
    model_config = ConfigDict(json_schema_extra=rules(
        ("has(self.uri) != has(self.generator)", "set exactly one of uri or generator"),
    ))
    uri: str | None = None
    """JSONL file with one object per line."""
    generator: Generator | None = None
    prompt_field: str = "prompt"
    answer_field: str = "answer"
    domain: str | None = None
    """Domain label stored with every record of this source."""


class Dedup(ApiModel):
    """Near-duplicate removal with MinHash LSH over word shingles."""

    enabled: bool = True
    threshold: float = Field(default=0.85, gt=0, le=1)
    """Estimated Jaccard similarity above which two records are duplicates."""
    num_perm: int = Field(default=128, ge=16, le=1024)
    shingle_size: int = Field(default=3, ge=1, le=16)


class QualityFilter(ApiModel):
    """Rules that drop a record (see the workload for the exact checks)."""

    model_config = ConfigDict(json_schema_extra=rules(
        ("self.minPromptChars <= self.maxPromptChars", "minPromptChars must not exceed maxPromptChars"),
    ))

    min_prompt_chars: int = Field(default=8, ge=0)
    max_prompt_chars: int = Field(default=8000, ge=1)
    max_answer_chars: int = Field(default=8000, ge=1)
    require_answer: bool = True
    max_non_printable_ratio: float = Field(default=0.01, ge=0, le=1)


class Split(ApiModel):
    model_config = ConfigDict(json_schema_extra=rules(
        ("self.validation + self.test < 1.0", "validation + test must be below 1"),
    ))
    validation: float = Field(default=0.1, ge=0, lt=1)
    test: float = Field(default=0.1, ge=0, lt=1)
    seed: int = 0


class DatasetSpec(Common):
    sources: list[Source] = Field(min_length=1)
    dedup: Dedup = Field(default_factory=Dedup)
    filter: QualityFilter = Field(default_factory=QualityFilter)
    split: Split = Field(default_factory=Split)
