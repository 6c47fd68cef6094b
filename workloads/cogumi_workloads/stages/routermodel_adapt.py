"""``routermodel.adapt``: an updated escalation threshold learned from logged interactions.

Reads ``spec.adaptive.logs`` (a DataRef whose ``uri`` names a JSONL file, or a folder of ``*.jsonl``,
of interactions as the server logs them; ``limit`` keeps the most recent entries) and fits the
logistic regressions of :mod:`cogumi_workloads.router.adaptive`. Without ``spec.adaptive.logs`` the
stage fails permanently: there is nothing to learn from.

Schedule: ``spec.adaptive.schedule`` (cron) asks for this stage to be re-run on new logs. The
operator does not implement scheduled re-runs yet; today the stage runs once per run of the
resource (a spec change, e.g. a new ``logs.uri``, starts a new run).

Metrics: ``logs``, ``satisfiedRate``, ``previousThreshold`` (−1 when none), ``threshold``, ``slope``,
``intercept``, ``keptPrevious``, ``clamped``, ``domainThresholds`` (how many domains got their own),
``holdoutLogLoss``/``baselineLogLoss`` (every fifth log held out, vs a constant rate) when ≥ 50 logs.
Artifacts: ``adaptive`` (JSON: the model, thresholds, target) and ``router`` again, its manifest
carrying the learned ``threshold`` and ``domainThresholds`` (``thresholdSource: adapt``).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from cogumi_api.serving import RouterModelSpec
from cogumi_workloads.router.adaptive import TARGET_SATISFACTION, learn, read_logs
from cogumi_workloads.router.bundle import read_manifest
from cogumi_workloads.router.compose import compose
from cogumi_workloads.router.loader import ADAPTIVE, FORMAT
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.uris import atomic_dir, atomic_write_text


def run(ctx: StageContext[RouterModelSpec]) -> None:
    adaptive = ctx.spec.adaptive
    logs = adaptive.logs if adaptive else None
    if logs is None:
        raise PermanentError(
            "spec.adaptive.logs is not set: the adapt stage learns the escalation threshold from logged "
            "interactions; set spec.adaptive.logs.uri to a JSONL file (or folder of *.jsonl) with query, "
            "domain, confidence and user_satisfied per line, or remove spec.adaptive")
    if logs.uri is None:
        raise PermanentError("spec.adaptive.logs must name interaction logs by uri (JSONL); "
                             f"a {'suite' if logs.suite else 'dataset'} holds no interactions")
    _, router_path = ctx.input("router")
    manifest = read_manifest(router_path, FORMAT)
    previous = manifest.get("threshold")
    interactions = read_logs(uris.fetch(logs.uri, ctx.workdir / "logs"), logs.limit)
    unknown = sorted({i.domain for i in interactions} - set(manifest["domains"]))
    if unknown:
        ctx.log.warning("logs name domains the router does not route to", domains=unknown)
    learned = learn(interactions, previous)
    satisfied = sum(i.satisfied for i in interactions) / len(interactions)
    ctx.metrics.update({
        "logs": float(len(interactions)), "satisfiedRate": satisfied,
        "previousThreshold": float(previous) if previous is not None else -1.0,
        "threshold": learned.threshold, "slope": learned.slope, "intercept": learned.intercept,
        "keptPrevious": float(learned.kept_previous), "clamped": float(learned.clamped),
        "domainThresholds": float(len(learned.domain_thresholds)),
    })
    if learned.holdout_log_loss is not None and learned.baseline_log_loss is not None:
        ctx.metrics.update({"holdoutLogLoss": learned.holdout_log_loss, "baselineLogLoss": learned.baseline_log_loss})
    if learned.kept_previous:
        ctx.log.warning("satisfaction does not rise with confidence in these logs; threshold kept",
                        slope=learned.slope)
    ctx.log.info("threshold learned", previous=previous, threshold=learned.threshold,
                 domains=learned.domain_thresholds)

    result = {**asdict(learned), "target": TARGET_SATISFACTION, "previousThreshold": previous,
              "logs": len(interactions), "logsUri": logs.uri, "schedule": adaptive.schedule if adaptive else None}
    atomic_write_text(ctx.output_path("adaptive.json"), json.dumps(result, indent=2) + "\n")
    ctx.publish("adaptive", "adaptive.json")
    with atomic_dir(ctx.output_path("router")) as folder:
        metrics = {**manifest.get("metrics", {}), "adapt": dict(ctx.metrics)}
        compose(folder, router_path, {"threshold": learned.threshold, "thresholdSource": "adapt",
                                      "domainThresholds": learned.domain_thresholds, "metrics": metrics},
                {ADAPTIVE: result})
    ctx.publish("router", "router")
