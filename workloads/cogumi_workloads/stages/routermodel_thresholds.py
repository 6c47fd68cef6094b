"""``routermodel.thresholds``: the confidence threshold below which a query is escalated.

Routes the validation split of the domains' task suites (``examplesPerDomain`` per domain at most)
with the trained ``router`` and applies the objective of :mod:`cogumi_workloads.router.thresholds`
over ``spec.thresholds`` plus a 0.50–0.99 grid in steps of 0.01.

Metrics: ``chosenThreshold``, ``coverage``, ``confidentAccuracy`` (at the chosen threshold),
``targetMet``, ``validationExamples``, ``validationAccuracy`` (all routes), and
``coverage.t<100·t>`` / ``confidentAccuracy.t<100·t>`` for every threshold of the spec, and, as a
diagnostic that never influences the choice, ``naturalCoverage``/``naturalConfidentAccuracy`` at the
chosen threshold on the hand-written queries of :mod:`cogumi_workloads.router.natural` (the
suites' templated prompts are far easier to route than free phrasing).
Artifacts: ``thresholds`` (JSON: objective, target, every candidate) and ``router`` again — the
trained router with ``thresholds.json`` and, when the escalation stage ran, ``escalation/`` inside,
its manifest carrying ``threshold``: the bundle the server loads.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np

from cogumi_api.serving import RouterModelSpec
from cogumi_workloads.router import data
from cogumi_workloads.router.compose import compose
from cogumi_workloads.router.embedder import configure_threads
from cogumi_workloads.router.loader import THRESHOLDS, Router, load_router
from cogumi_workloads.router.natural import NATURAL
from cogumi_workloads.router.thresholds import Candidate, choose, evaluate
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.uris import atomic_dir, atomic_write_text


def _key(threshold: float) -> str:
    return f"t{threshold * 100:g}"


def _natural(router: Router, at: list[float], spec_thresholds: list[float]) -> list[Candidate]:
    """Coverage and confident accuracy on the hand-written queries (a diagnostic; never used to choose)."""
    pairs = [(text, domain) for domain in router.domains for text in NATURAL.get(domain, ())]
    if not pairs:
        return []
    probs = router.probabilities([text for text, _ in pairs])
    correct = probs.argmax(axis=1) == np.array([router.domains.index(d) for _, d in pairs])
    return evaluate(probs.max(axis=1), correct, at, spec_thresholds)


def run(ctx: StageContext[RouterModelSpec]) -> None:
    spec = ctx.spec
    ctx.log.info("torch threads", threads=configure_threads())
    _, router_path = ctx.input("router")
    escalation = ctx.inputs.get("escalation")
    router = load_router(router_path)
    if router.domains != list(spec.domains):
        raise PermanentError(f"the router input was trained for {router.domains}, the spec asks for {spec.domains}")
    validation = data.load_queries(router.domains, "validation", spec.examples_per_domain, ctx.log)
    probs = router.probabilities([q.text for q in validation])
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.array([router.domains.index(q.domain) for q in validation])
    if len(correct) == 0:
        raise PermanentError("the validation splits of the task suites hold no query for these domains")
    choice = choose(confidence, correct, spec.thresholds)
    chosen = choice.chosen
    ctx.metrics.update({
        "chosenThreshold": chosen.threshold, "coverage": chosen.coverage,
        "confidentAccuracy": chosen.confident_accuracy if chosen.confident_accuracy is not None else 0.0,
        "targetMet": float(choice.target_met), "validationExamples": float(len(correct)),
        "validationAccuracy": float(correct.mean()),
    })
    for candidate in choice.candidates:
        if candidate.from_spec:
            ctx.metrics[f"coverage.{_key(candidate.threshold)}"] = candidate.coverage
            if candidate.confident_accuracy is not None:
                ctx.metrics[f"confidentAccuracy.{_key(candidate.threshold)}"] = candidate.confident_accuracy
    ctx.log.info("threshold chosen", threshold=chosen.threshold, coverage=chosen.coverage,
                 confident_accuracy=chosen.confident_accuracy, target_met=choice.target_met)

    natural = _natural(router, sorted({chosen.threshold, *spec.thresholds}), spec.thresholds)
    for candidate in natural:
        if candidate.threshold == chosen.threshold:
            ctx.metrics["naturalCoverage"] = candidate.coverage
            if candidate.confident_accuracy is not None:
                ctx.metrics["naturalConfidentAccuracy"] = candidate.confident_accuracy
    result = {**choice.wire(), "validationExamples": len(correct), "domains": router.domains,
              "natural": [asdict(c) for c in natural]}
    atomic_write_text(ctx.output_path("thresholds.json"), json.dumps(result, indent=2) + "\n")
    ctx.publish("thresholds", "thresholds.json")
    with atomic_dir(ctx.output_path("router")) as folder:
        metrics = {**router.manifest.get("metrics", {}), "thresholds": dict(ctx.metrics)}
        compose(folder, router_path, {"threshold": chosen.threshold, "thresholdSource": "thresholds",
                                      "metrics": metrics}, {THRESHOLDS: result}, escalation)
    ctx.publish("router", "router")
