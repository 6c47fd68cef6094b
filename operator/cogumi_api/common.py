"""References to models, data and teachers, shared by several kinds."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from cogumi_api.meta import ApiModel, rules

Domain = Literal["code", "reasoning", "automation", "math", "hard-math", "science", "finance", "creative"]
DOMAINS: tuple[str, ...] = Domain.__args__  # type: ignore[attr-defined]

# LoRA rank per domain, from the plan (BRIEF §2).
DEFAULT_RANK: dict[str, int] = {
    "code": 128, "reasoning": 112, "automation": 96, "math": 96,
    "hard-math": 112, "science": 80, "finance": 72, "creative": 88,
}


class ModelRef(ApiModel):
    """A model: an artifact URI, or the output of another resource."""

    model_config = ConfigDict(json_schema_extra=rules(
        ("has(self.uri) != has(self.fromResource)", "set exactly one of uri or fromResource"),
    ))
    uri: str | None = None
    """Hugging Face folder or GGUF file: file://, pvc://claim/path, s3://, or a builtin:// model."""
    from_resource: str | None = None
    """`<kind>/<name>` of a resource in the same namespace whose `model` artifact is used."""
    format: Literal["hf", "gguf"] = "hf"


class DataRef(ApiModel):
    """Training or calibration data: a JSONL URI, a Dataset, or a task suite."""

    model_config = ConfigDict(json_schema_extra=rules(
        ("[has(self.uri), has(self.dataset), has(self.suite)].filter(x, x).size() == 1",
         "set exactly one of uri, dataset or suite"),
    ))
    uri: str | None = None
    dataset: str | None = None
    """Name of a Dataset in the same namespace (its train split)."""
    suite: str | None = None
    """Name of a builtin task suite, e.g. `math` or `code`."""
    limit: int | None = Field(default=None, ge=1)


class SecretKeyRef(ApiModel):
    name: str
    key: str = "api-key"


class TeacherEndpoint(ApiModel):
    """A teacher the operator serves: a ModelDeployment in the same namespace (our server or llama-cpp-python's)."""

    from_resource: str = Field(pattern=r"^ModelDeployment/[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    """`ModelDeployment/<name>`: the stage waits until it is Ready and calls the URL on its status."""


class Teacher(ApiModel):
    """An OpenAI-compatible endpoint used as a teacher or labeler: a URL, or a ModelDeployment to call once Ready."""

    model_config = ConfigDict(json_schema_extra=rules(
        ("has(self.url) != has(self.endpoint)", "set exactly one of url or endpoint"),
    ))
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=40)
    url: str | None = Field(default=None, pattern=r"^https?://")
    """Base URL of the OpenAI-compatible API, e.g. http://teacher:8000/v1."""
    endpoint: TeacherEndpoint | None = None
    model: str | None = None
    """Model id sent with each request; default: the first model the endpoint lists (`GET /v1/models`)."""
    api_key_secret: SecretKeyRef | None = None
    price_per_1k_tokens: float = Field(default=0.0, ge=0, alias="pricePer1kTokens")
    budget: float | None = Field(default=None, ge=0)
    """Spend cap for this tier in the same currency as the price; unlimited when unset."""
    max_tokens: int = Field(default=512, ge=1)
    samples: int = Field(default=1, ge=1, le=16)
    """Attempts per item at this tier; each is checked and the first verified answer is kept (rejection
    sampling). Attempts after the first only differ when `temperature` is above 0."""
    temperature: float = Field(default=0.0, ge=0, le=2)

    @model_validator(mode="after")
    def _one_address(self) -> Teacher:
        if (self.url is None) == (self.endpoint is None):
            raise ValueError(f"teacher {self.name!r}: set exactly one of url (an OpenAI-compatible base URL) or "
                             "endpoint.fromResource (ModelDeployment/<name>)")
        return self
