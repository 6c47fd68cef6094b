"""One settings object, read from ``COGUMI_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("COGUMI_CACHE_DIR") or Path(base) / "cogumi")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str | None = None
    """Namespace the operator watches; all namespaces when unset."""
    workload_image: str = "ghcr.io/cogumi/workloads:0.1.0"
    server_image: str = "ghcr.io/cogumi/server:0.1.0"
    artifact_root: str = "pvc://cogumi-artifacts"
    """Default artifact root; each resource writes under <root>/<namespace>/<kind>/<name>."""
    service_account: str = "cogumi-workload"
    """ServiceAccount of stage Jobs (may create StageResults, nothing else)."""
    reconcile_interval: float = Field(default=2.0, gt=0)
    metrics_port: int = 9090
    python: str = "python"
    """Interpreter named in Job commands (the workload image's)."""
    kopf_scanning: bool = True
    """Let kopf watch namespaces and CRDs at run time. The Helm chart's namespaced mode turns it off: it
    grants no cluster-wide reads, and kopf would retry those forbidden requests for a minute at start."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {}
        for name in cls.model_fields:
            key = f"COGUMI_{name.upper()}"
            if key in env:
                values[name] = env[key]
        return cls.model_validate(values)
