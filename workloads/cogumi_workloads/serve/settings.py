"""The server's configuration: the ModelDeployment spec (from the environment, as the operator
renders it) plus options of this process (command line or environment)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cogumi_api.serving import ModelDeploymentSpec
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.runner import describe_validation


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]*$")
    """Deployment name: the OpenAI model id and the KServe model name."""
    spec: ModelDeploymentSpec
    state_dir: Path
    """Where the session memory's SQLite file lives."""
    threads: int | None = Field(default=None, ge=1)
    n_ctx: int = Field(default=4096, ge=256)
    max_n: int = Field(default=8, ge=1)
    default_max_tokens: int = Field(default=256, ge=1)
    max_tokens_limit: int = Field(default=4096, ge=1)
    default_temperature: float = Field(default=0.7, ge=0, le=2)
    critique_threshold: float = Field(default=0.5, gt=0, lt=1)
    escalation_threshold: float = Field(default=0.8, gt=0, lt=1)
    """Router confidence threshold when the router artifact carries none."""
    escalation_url: str | None = Field(default=None, pattern=r"^https?://")
    escalation_model: str | None = None
    router_baseline: bool = False
    """Route with the keyword baseline (tests of the plumbing only), ignoring spec.router."""


def load_spec(env: str | None, path: str | None) -> ModelDeploymentSpec:
    """The ModelDeployment spec JSON (camelCase, references resolved to ``uri``)."""
    if path is not None:
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PermanentError(f"cannot read the server config {path}: {exc}") from exc
    elif env is not None:
        if env not in os.environ:
            raise PermanentError(f"environment variable {env} holding the server config is not set")
        raw = os.environ[env]
    else:
        raise PermanentError("pass the server config with --config PATH or --config-env VARNAME")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PermanentError(f"the server config is not valid JSON: {exc}") from exc
    try:
        spec = ModelDeploymentSpec.model_validate(data)
    except ValidationError as exc:
        raise PermanentError(describe_validation("ModelDeployment spec", exc)) from exc
    unresolved = [where for where, ref in [("model", spec.model), *((f"modifiers[{m.domain}]", m.adapter)
                                                                     for m in spec.modifiers)] if ref.uri is None]
    if spec.router is not None and spec.router.uri is None:
        unresolved.append("router")
    if unresolved:
        raise PermanentError(f"the server config has unresolved references (fromResource): {', '.join(unresolved)}")
    return spec
