"""The RouterModel's router: which domain modifier answers a query, and when to escalate.

Loader API (for the server)::

    from cogumi_workloads.router import load_router

    router = load_router("pvc://models/router-run-1/thresholds/router")  # folder or URI
    domain, confidence = router.route("integrate x^2 from 0 to 3")
    pairs = router.route_batch(["…", "…"])           # [(domain, confidence), …]
    router.threshold, router.threshold_for(domain)    # chosen threshold; per-domain after adapt
    decision = router.decide(text)                    # Decision(domain, confidence, confident)
    router.escalation.score(message, previous)        # P(dissatisfied); .dissatisfied(...) -> bool

``load_router`` verifies every file against the manifest's sha256 and loads the embedder the
manifest names (pass ``embedder=`` to share one). Needs torch, sentence-transformers and
safetensors (the ``ml`` extra).

Artifact ``router`` (a folder; format ``cogumi.router/v1``)::

    manifest.json        format, domains, embedder {uri, dim}, mlp {inputs, hidden, outputs, activation},
                         threshold (null until the thresholds stage), thresholdSource (thresholds|adapt),
                         domainThresholds {domain: t} (adapt), escalation ("escalation" or null),
                         metrics {train, thresholds, adapt}, created, files {relpath: {sha256, bytes}}
    weights.safetensors  the MLP's state dict (torch.nn.Sequential: Linear, ReLU, Dropout, Linear, ReLU,
                         Dropout, Linear; keys 0.*, 3.*, 6.*)
    labels.json          the domains, in the order of the MLP's outputs
    thresholds.json      the thresholds stage's choice and every candidate     (bundle only)
    adaptive.json        the adapt stage's regression and thresholds           (bundle only)
    escalation/          the escalation artifact (its own manifest.json, student.npz, teacher.safetensors,
                         examples.jsonl)                                       (bundle only)

The train stage writes the plain router; the thresholds stage republishes ``router`` as the bundle
(plus ``thresholds.json`` and ``escalation/``), and the adapt stage republishes it again with the
learned threshold. The resource's ``status.artifacts.router`` is the last one: load that.
Embeddings are L2-normalised; confidence is the MLP's largest softmax probability.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Decision", "EscalationDetector", "Router", "load_escalation", "load_router"]


def __getattr__(name: str) -> Any:
    """Import the loader (and torch) only when the loader API is used."""
    if name in ("Decision", "Router", "load_router"):
        from cogumi_workloads.router import loader

        return getattr(loader, name)
    if name in ("EscalationDetector", "load_escalation"):
        from cogumi_workloads.router import escalation

        return getattr(escalation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
