"""``evaluation.suites``: every task of ``spec.tasks`` on the evaluated model, with a PASS/FAIL verdict.

Evaluated: ``spec.model`` inside this Job (an HF folder with transformers, a GGUF file with
llama-cpp-python; ``spec.backend``), or ``spec.deployment`` through its OpenAI-compatible API at the
URL the operator resolved once the ModelDeployment was Ready (:mod:`cogumi_workloads.tasks.targets`).

Items: the first ``limit`` items of the test split. A ``suite`` task is answered greedily and
scored by the suite's exact verifier (:func:`cogumi_workloads.tasks.evaluate.evaluate` for HF
folders); an ``lmEvalTask`` runs in lm-eval's own harness (``simple_evaluate``, offline, over the
exported task YAML; HF folders only, :func:`cogumi_workloads.tasks.lmeval.run_task`).

Baseline (``spec.baseline``): the same items, the same way, in this Job. Threshold: ``minAccuracy``
when set, else the baseline's accuracy; PASS when accuracy >= threshold ("at least as good as the
base"). The kind's default gates are ``suites.<task>.passed == 1``.

Metrics per task ``<name>.``: ``passed`` (1/0), ``accuracy``, ``threshold``, ``n``, ``ciLow``,
``ciHigh`` (Wilson 95 %), ``baseline`` (when a baseline ran); totals ``tasks`` and ``passedTasks``.
Artifact ``report`` (``report.json``, every completion of both models).
"""

from __future__ import annotations

from typing import Any

from cogumi_api.evaluation import EvalTask, EvaluationSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import quiet_library_progress
from cogumi_workloads.tasks import lmeval
from cogumi_workloads.tasks.evaluate import EvalResult
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.tasks.targets import EVAL_BATCH_SIZE, Scorer, Target, deployment_target, model_target
from cogumi_workloads.training.files import write_json

OUTPUT = "report.json"


def evaluated(ctx: StageContext[EvaluationSpec]) -> Target:
    """The target of ``spec.model`` or ``spec.deployment``."""
    spec = ctx.spec
    if spec.deployment is not None:
        return deployment_target(ctx, spec.deployment)
    assert spec.model is not None  # the spec's validator allows exactly one of the two
    return model_target(ctx, spec.model, "spec.model", spec.backend)


def score_all(ctx: StageContext[EvaluationSpec], target: Target) -> dict[str, EvalResult]:
    """Every task on ``target``: suite tasks first (one loaded model), then lm-eval tasks (lm-eval loads its own)."""
    results: dict[str, EvalResult] = {}
    scorer = Scorer(target, ctx.log)
    try:
        for task in (t for t in ctx.spec.tasks if t.suite is not None):
            suite = get_suite(task.suite or "")
            items = suite.split("test", task.limit)
            results[task.name] = scorer.suite(suite, items, task.max_new_tokens or suite.max_new_tokens)
    finally:
        scorer.close()
    for index, task in enumerate(ctx.spec.tasks):
        if task.lm_eval_task is None:
            continue
        if target.kind != "hf" or target.path is None:
            raise PermanentError(f"spec.tasks[{index}].lmEvalTask: lm-eval runs a Hugging Face folder, but "
                                 f"{target.field} is {target.kind} ({target.name}); use `suite: "
                                 f"{lmeval.domain_of(task.lm_eval_task)}` (the same items and verifier)")
        results[task.name] = lmeval.run_task(task.lm_eval_task, target.path, ctx.workdir / "lm-eval",
                                             limit=task.limit, max_new_tokens=task.max_new_tokens,
                                             batch_size=EVAL_BATCH_SIZE, log=ctx.log)
    return results


def verdict(task: EvalTask, result: EvalResult, base: EvalResult | None) -> dict[str, Any]:
    if task.min_accuracy is not None:
        threshold, source = task.min_accuracy, "minAccuracy"
    elif base is not None:
        threshold, source = base.accuracy, "baseline"
    else:  # the spec's validator refuses this; kept as a clear error for a spec that bypassed it
        raise PermanentError(f"task {task.name!r}: set minAccuracy or spec.baseline")
    return {"name": task.name, "suite": task.suite, "lmEvalTask": task.lm_eval_task, "n": result.n,
            "accuracy": result.accuracy, "ciLow": result.ci_low, "ciHigh": result.ci_high, "threshold": threshold,
            "thresholdFrom": source, "passed": result.accuracy >= threshold,
            "baseline": None if base is None else base.accuracy}


def run(ctx: StageContext[EvaluationSpec]) -> None:
    spec = ctx.spec
    lmeval.offline(ctx.workdir / "hf-datasets")
    quiet_library_progress()
    target = evaluated(ctx)
    ctx.log.info("evaluating", target=target.name, kind=target.kind, tasks=[t.name for t in spec.tasks])
    results = score_all(ctx, target)
    base_results: dict[str, EvalResult] = {}
    base: Target | None = None
    if spec.baseline is not None:
        base = model_target(ctx, spec.baseline, "spec.baseline", spec.backend)
        ctx.log.info("evaluating the baseline", target=base.name, kind=base.kind)
        base_results = score_all(ctx, base)
    rows = [verdict(t, results[t.name], base_results.get(t.name)) for t in spec.tasks]
    for row in rows:
        name = row["name"]
        ctx.metrics.update({f"{name}.passed": 1.0 if row["passed"] else 0.0, f"{name}.accuracy": row["accuracy"],
                            f"{name}.threshold": row["threshold"], f"{name}.n": float(row["n"]),
                            f"{name}.ciLow": row["ciLow"], f"{name}.ciHigh": row["ciHigh"]})
        if row["baseline"] is not None:
            ctx.metrics[f"{name}.baseline"] = row["baseline"]
    passed = sum(r["passed"] for r in rows)
    ctx.metrics.update({"tasks": float(len(rows)), "passedTasks": float(passed)})
    write_json(ctx.output_path(OUTPUT), {
        "target": target.name, "baseline": base.name if base else None, "tasks": rows,
        "results": {n: r.model_dump() for n, r in results.items()},
        "baselineResults": {n: r.model_dump() for n, r in base_results.items()}})
    failed = [f"{r['name']} {r['accuracy']:.1%} < {r['threshold']:.1%} ({r['thresholdFrom']})"
              for r in rows if not r["passed"]]
    ctx.message = f"{passed}/{len(rows)} tasks passed on {target.name}" + (
        "; failed: " + ", ".join(failed) if failed else "")
    ctx.publish("report", OUTPUT)
