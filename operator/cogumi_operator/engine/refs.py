"""References between resources: `fromResource: Kind/name` (and a Dataset by name) in a spec.

Before a stage starts, the operator replaces every reference by the URI of the referenced
resource's artifact and hands the artifact (with its sha256) to the stage as an input named
after the field's path, so the workload verifies what it reads. A reference to a resource
that has not succeeded yet keeps the run waiting.

A served resource (`deployment: name`, or `fromResource: ModelDeployment/name` such as a teacher's
`endpoint`) has no artifact: once it is Ready, the URL on its status is handed to the stage as an
endpoint named after the field's path (`spec.deployment`, `spec.teachers[1].endpoint`); the spec
keeps the reference. Until then the run waits, also while the
deployment is missing or failed, since serving can recover without a new run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from cogumi_api.meta import Artifact

SERVED = "url"
"""The `artifact` of a reference to a served resource: its URL, not a file."""


@dataclass(frozen=True)
class Ref:
    path: str
    """Dotted path of the referencing object in the spec, e.g. `spec.baseModel`."""
    kind: str
    name: str
    artifact: str
    """Artifact of the referenced resource that the field needs."""

    @property
    def target(self) -> str:
        return f"{self.kind}/{self.name}"


def _artifact_for(path: str, node: dict[str, Any]) -> str:
    if path.endswith(".adapter"):
        return "gguf" if node.get("format") == "gguf" else "adapter"  # a GGUF LoRA, for a GGUF base
    if path.endswith(".router"):
        return "router"
    return "gguf" if node.get("format") == "gguf" else "model"


def find(raw_spec: dict[str, Any], path: str = "spec") -> list[Ref]:
    """Every reference in a spec, in document order."""
    found: list[Ref] = []
    if isinstance(raw_spec, dict):
        target = raw_spec.get("fromResource")
        if isinstance(target, str) and "/" in target:
            kind, name = target.split("/", 1)
            found.append(Ref(path, kind, name, SERVED if kind == "ModelDeployment" else _artifact_for(path, raw_spec)))
        dataset = raw_spec.get("dataset")
        if isinstance(dataset, str) and {"uri", "suite"}.isdisjoint(raw_spec):
            found.append(Ref(path, "Dataset", dataset, "dataset"))
        served = raw_spec.get("deployment")
        if isinstance(served, str):
            found.append(Ref(f"{path}.deployment", "ModelDeployment", served, SERVED))
        for key, value in raw_spec.items():
            if isinstance(value, (dict, list)):
                found.extend(find(value, f"{path}.{key}"))  # type: ignore[arg-type]
    elif isinstance(raw_spec, list):
        for i, value in enumerate(raw_spec):
            found.extend(find(value, f"{path}[{i}]"))
    return found


def substitute(raw_spec: dict[str, Any], resolved: dict[str, Artifact]) -> dict[str, Any]:
    """A copy of the spec with each resolved reference replaced by `uri:` of its artifact."""
    out = copy.deepcopy(raw_spec)
    for ref in find(raw_spec):
        if ref.path not in resolved:
            continue
        node: Any = out
        for part in ref.path.replace("[", ".[").split(".")[1:]:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        node.pop("fromResource", None)
        node.pop("dataset", None)
        node["uri"] = resolved[ref.path].uri
    return out


@dataclass(frozen=True)
class Referenced:
    """What the operator knows of a referenced resource."""

    phase: str | None
    artifacts: dict[str, Artifact]
    gates_summary: str | None = None
    message: str = ""
    """The Ready condition's message."""
    ready: bool = False
    """The Ready condition's status is True."""
    url: str | None = None
    """`status.extra.url` (a ModelDeployment's serving URL)."""


def resolve(refs: list[Ref], known: dict[str, Referenced]) -> tuple[dict[str, Artifact], list[str], list[str]]:
    """Resolved artifacts by path; what is not ready yet; what can never resolve."""
    resolved: dict[str, Artifact] = {}
    waiting: list[str] = []
    broken: list[str] = []
    for ref in refs:
        if ref.artifact == SERVED:
            continue  # see endpoints()
        other = known.get(ref.target)
        if other is None:
            waiting.append(f"{ref.target} (not found)")
        elif other.phase in ("Failed", "GateFailed"):
            broken.append(f"{ref.path}: {ref.target} ended {other.phase}")
        elif other.phase != "Succeeded":
            waiting.append(f"{ref.target} (phase {other.phase or 'Pending'})")
        elif ref.artifact not in other.artifacts:
            broken.append(f"{ref.path}: {ref.target} has no `{ref.artifact}` artifact")
        else:
            resolved[ref.path] = other.artifacts[ref.artifact]
    return resolved, waiting, broken


def endpoints(refs: list[Ref], known: dict[str, Referenced]) -> tuple[dict[str, str], list[str]]:
    """URLs of the Ready served resources by path; what is not served yet (never broken: it may recover)."""
    urls: dict[str, str] = {}
    waiting: list[str] = []
    for ref in refs:
        if ref.artifact != SERVED:
            continue
        other = known.get(ref.target)
        if other is None:
            waiting.append(f"{ref.target} (not found; create it in this namespace)")
        elif not other.ready or not other.url:
            why = other.message or f"phase {other.phase or 'Pending'}"
            waiting.append(f"{ref.target} to be Ready ({why})")
        else:
            urls[ref.path] = other.url
    return urls, waiting
