"""The contract between the operator and a stage workload.

The operator renders a :class:`StageInvocation` into each Job; the workload validates it,
does its work and reports a :class:`StageReport` (stored as a ``StageResult`` object in a
cluster, or as a file locally). The operator folds the report into the parent's status:
it is the only writer of that status.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cogumi_api.meta import ApiModel, Artifact

# Exit codes of a stage CLI. Anything else is treated as retryable.
EXIT_OK = 0
EXIT_RETRYABLE = 1
EXIT_PERMANENT = 2


class ObjectRef(ApiModel):
    kind: str
    name: str
    namespace: str = "default"
    uid: str | None = None
    generation: int | None = None


class StageInvocation(ApiModel):
    """Everything a stage needs; passed to the Job as JSON."""

    resource: ObjectRef
    stage: str
    attempt: int = Field(default=1, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)
    """The parent's spec (by alias); each stage validates the part it reads."""
    inputs: dict[str, Artifact] = Field(default_factory=dict)
    """Artifacts produced by earlier stages of the same resource, by name."""
    endpoints: dict[str, str] = Field(default_factory=dict)
    """Base URLs of the served resources the spec names (a ModelDeployment), by field path, e.g.
    `spec.deployment`; resolved by the operator from the resource's status once it is Ready."""
    output: str
    """URI prefix under which this stage writes its artifacts."""
    result: str
    """Where to report: ``file://path.json`` or ``k8s://namespace/name`` (a StageResult)."""


class StageReport(ApiModel):
    """What a stage reports back (the spec of a StageResult object)."""

    resource: ObjectRef
    stage: str
    attempt: int
    outcome: Literal["Succeeded", "Failed"]
    retryable: bool = False
    message: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    artifacts: dict[str, Artifact] = Field(default_factory=dict)
    logs_tail: str = ""
