"""Building blocks shared by every kind: the model base, runtime template, status convention."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "cogumi.ai"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


class ApiModel(BaseModel):
    """Base of every API model: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=AliasGenerator(alias=to_camel),
        use_attribute_docstrings=True,
    )

    def wire(self) -> dict[str, Any]:
        """The object as Kubernetes stores it (camelCase, unset optionals left out)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def rules(*pairs: tuple[str, str]) -> dict[str, Any]:
    """CEL validation rules for a model's ``json_schema_extra``: (rule, message) pairs."""
    return {"x-kubernetes-validations": [{"rule": r, "message": m} for r, m in pairs]}


# --------------------------------------------------------------------------- runtime template

class Toleration(ApiModel):
    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


class Resources(ApiModel):
    """Compute for each stage's Job container (Kubernetes quantities)."""

    cpu: str = "1"
    """CPU request, e.g. "2" or "500m"."""
    memory: str = "2Gi"
    """Memory request and limit, e.g. "16Gi"."""
    gpus: int = Field(default=0, ge=0, le=16)
    """Number of GPUs (resource nvidia.com/gpu); 0 runs on the CPU."""


class Runtime(ApiModel):
    """Where and how the stage Jobs of a resource run."""

    image: str | None = None
    """Workload image; the operator's default when empty."""
    resources: Resources = Field(default_factory=Resources)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default=[])
    service_account_name: str | None = None
    """ServiceAccount of the stage Jobs; the operator's default when empty."""
    active_deadline_seconds: int | None = Field(default=None, ge=1)
    """Upper bound on one attempt of one stage."""


class RetryPolicy(ApiModel):
    """How failed stages are retried. A permanent failure (bad input) is never retried."""

    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_seconds: int = Field(default=10, ge=0, le=3600)
    """Delay before the second attempt; doubles for each later one."""


GateOp = Literal[">=", ">", "<=", "<", "=="]


class GateSpec(ApiModel):
    """A quality gate: a stage metric compared with a threshold."""

    metric: str = Field(pattern=r"^[a-z][a-z0-9-]*\.[A-Za-z][A-Za-z0-9_.-]*$")
    """`<stage>.<metric>`, e.g. `export.tokenAgreement` or `suites.hard-math.passed`."""
    op: GateOp = ">="
    threshold: float


class Common(ApiModel):
    """Fields every kind with stages carries (mixed into each spec)."""

    output: str | None = None
    """Artifact root URI (file://, pvc://claim/path, s3://); the operator's default when empty."""
    runtime: Runtime = Field(default_factory=Runtime)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    gates: list[GateSpec] | None = None
    """Quality gates; when omitted the kind's default gates apply, an empty list disables them."""
    suspend: bool = False
    """While true no new stage Job is started."""


# --------------------------------------------------------------------------- status

Phase = Literal["Pending", "Running", "Succeeded", "Failed", "GateFailed", "Suspended"]
StagePhase = Literal["Pending", "Running", "Retrying", "Succeeded", "Failed", "Skipped"]


class Artifact(ApiModel):
    uri: str
    sha256: str | None = None
    """Hex digest of the file, or of the sorted manifest of a folder."""
    bytes: int | None = Field(default=None, ge=0)


class StageStatus(ApiModel):
    name: str
    phase: StagePhase = "Pending"
    job: str | None = None
    attempts: int = 0
    start_time: datetime | None = None
    completion_time: datetime | None = None
    message: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    artifacts: dict[str, Artifact] = Field(default_factory=dict)


class GateResult(ApiModel):
    metric: str
    op: GateOp
    threshold: float
    value: float | None = None
    passed: bool | None = None
    """Unset until the metric has been measured."""


class Condition(ApiModel):
    type: Literal["Ready", "Progressing", "GatesPassed", "Degraded"]
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$")
    message: str = ""
    last_transition_time: datetime
    observed_generation: int | None = None


class Status(ApiModel):
    """The status convention of every kind. Written only by the operator."""

    observed_generation: int | None = None
    run: int = 0
    """Run number; a spec change starts a new run from the first stage."""
    spec_hash: str | None = None
    """Digest of the spec (without `suspend`) that the current run executes."""
    phase: Phase = "Pending"
    stage: str | None = None
    """The stage running now (or the last one)."""
    stages: list[StageStatus] = Field(default_factory=list)
    gates: list[GateResult] = Field(default_factory=list)
    gates_summary: str | None = None
    """"passed/total" for the printer column."""
    size: str | None = None
    """Human size of the main artifact, for the printer column."""
    artifacts: dict[str, Artifact] = Field(default_factory=dict)
    """Outputs of the whole resource (the last writer of each name wins)."""
    conditions: list[Condition] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    """Kind-specific results (for example the URL of a ModelDeployment)."""
