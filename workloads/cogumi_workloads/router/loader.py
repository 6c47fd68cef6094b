"""Loading a ``router`` artifact and routing with it (used by the stages and by the server)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cogumi_workloads.router.bundle import ArtifactError, read_manifest
from cogumi_workloads.router.embedder import Embedder
from cogumi_workloads.router.escalation import EscalationDetector, load_escalation
from cogumi_workloads.router.mlp import build_mlp
from cogumi_workloads.runtime import uris

FORMAT = "cogumi.router/v1"
WEIGHTS = "weights.safetensors"
LABELS = "labels.json"
THRESHOLDS = "thresholds.json"
ADAPTIVE = "adaptive.json"
ESCALATION_DIR = "escalation"


@dataclass(frozen=True)
class Decision:
    domain: str
    confidence: float
    confident: bool
    """False when the confidence is below the (domain's) threshold: escalate instead of routing."""


class Router:
    """A trained router: ``route(text) -> (domain, confidence)``, confidence = the top softmax probability."""

    def __init__(self, manifest: dict[str, Any], domains: list[str], model: torch.nn.Module,
                 embedder: Embedder, escalation: EscalationDetector | None = None) -> None:
        self.manifest = manifest
        self.domains = domains
        self.model = model.eval()
        self.embedder = embedder
        self.escalation = escalation

    @property
    def threshold(self) -> float | None:
        """The chosen confidence threshold (thresholds or adapt stage); None before they ran."""
        value = self.manifest.get("threshold")
        return None if value is None else float(value)

    def threshold_for(self, domain: str) -> float | None:
        """The domain's own threshold when the adapt stage learned one, else :attr:`threshold`."""
        per_domain = self.manifest.get("domainThresholds") or {}
        return float(per_domain[domain]) if domain in per_domain else self.threshold

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), len(domains)) softmax probabilities."""
        vectors = self.embedder.encode(texts)
        with torch.inference_mode():
            return torch.softmax(self.model(torch.from_numpy(vectors)), dim=-1).numpy()

    def route_batch(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        if not texts:
            return []
        probs = self.probabilities(texts)
        best = probs.argmax(axis=1)
        return [(self.domains[int(i)], float(probs[row, i])) for row, i in enumerate(best)]

    def route(self, text: str) -> tuple[str, float]:
        return self.route_batch([text])[0]

    def decide(self, text: str) -> Decision:
        domain, confidence = self.route(text)
        threshold = self.threshold_for(domain)
        return Decision(domain, confidence, threshold is None or confidence >= threshold)


def _local(path: str | Path, cache_dir: Path | None) -> Path:
    text = str(path)
    if "://" not in text:
        return Path(text)
    return uris.fetch(text, cache_dir or Path(tempfile.mkdtemp(prefix="cogumi-router-")))


def read_labels(folder: Path) -> list[str]:
    labels = json.loads((folder / LABELS).read_text(encoding="utf-8"))
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ArtifactError(f"{folder / LABELS} must be a JSON list of domain names")
    return labels


def load_router(path: str | Path, *, embedder: Embedder | None = None, verify: bool = True,
                cache_dir: Path | None = None) -> Router:
    """Load a ``router`` artifact: a local folder or a file://, pvc:// or s3:// URI.

    Every file is checked against the manifest's sha256 (unless ``verify`` is False). The embedder
    named in the manifest is loaded unless one is passed (share one between routers).
    """
    from safetensors.torch import load_file

    folder = _local(path, cache_dir)
    manifest = read_manifest(folder, FORMAT, verify=verify)
    domains = read_labels(folder)
    mlp = manifest["mlp"]
    if mlp["outputs"] != len(domains):
        raise ArtifactError(f"{folder}: the MLP has {mlp['outputs']} outputs but {len(domains)} labels")
    model = build_mlp(int(mlp["inputs"]), mlp["hidden"], int(mlp["outputs"]))
    model.load_state_dict(load_file(str(folder / WEIGHTS)))
    if embedder is None:
        embedder = Embedder.load(manifest["embedder"]["uri"], cache_dir)
    if embedder.dim != int(mlp["inputs"]):
        raise ArtifactError(f"embedder {embedder.uri} gives {embedder.dim}-d vectors; the MLP expects {mlp['inputs']}")
    escalation = None
    if manifest.get("escalation"):
        escalation = load_escalation(folder / manifest["escalation"], verify=verify)
    return Router(manifest, domains, model, embedder, escalation)
