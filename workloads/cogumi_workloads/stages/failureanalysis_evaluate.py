"""``failureanalysis.evaluate``: the model on every suite of ``spec.suites``; keep the failures.

Per suite the items are the validation split, topped up from the train split, up to
``samplesPerSuite`` (never the test split, which the gates of other kinds use). Scoring as
``spec.evaluation`` says (:mod:`cogumi_workloads.training.scoring`: llama.cpp on the GGUF of the model
by default).

Writes artifact ``evaluation``: ``failures.jsonl`` (id, suite, prompt, completion, reference) and
``summary.json``. Metrics: evaluated, failureCount, and per suite ``accuracy.<suite>``,
``n.<suite>``, ``ciLow.<suite>``, ``ciHigh.<suite>`` (Wilson 95 %).
"""

from __future__ import annotations

from cogumi_api.training import FailureAnalysisSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.tasks.base import Suite, TaskItem
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.training.files import write_json, write_jsonl
from cogumi_workloads.training.modelio import EVAL_BATCH_SIZE, model_path
from cogumi_workloads.training.scoring import score

OUTPUT = "evaluation"


def sample(suite: Suite, count: int) -> list[TaskItem]:
    """The validation split, then the train split, up to ``count`` items."""
    items = suite.split("validation", count)
    if len(items) < count:
        items += suite.split("train", count - len(items))
    return items


def run(ctx: StageContext[FailureAnalysisSpec]) -> None:
    spec = ctx.spec
    path = model_path(ctx, spec.model, "spec.model")
    failures: list[dict[str, str]] = []
    summary = []
    for domain in spec.suites:
        suite = get_suite(domain)
        items = sample(suite, spec.samples_per_suite)
        [result] = score(path, [(spec.model.uri or str(path), None)], suite, items, "validation", spec.evaluation,
                         ctx.workdir / "scoring", ctx.log, EVAL_BATCH_SIZE)
        by_id = {item.id: item for item in items}
        for outcome in result.items:
            if not outcome.correct:
                item = by_id[outcome.id]
                failures.append({"id": item.id, "suite": domain, "prompt": item.prompt,
                                 "completion": outcome.completion, "reference": item.answer})
        summary.append(result.model_dump(exclude={"items"}))
        ctx.metrics.update({f"accuracy.{domain}": result.accuracy, f"n.{domain}": float(result.n),
                            f"ciLow.{domain}": result.ci_low, f"ciHigh.{domain}": result.ci_high})
    folder = ctx.output_path(OUTPUT)
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "failures.jsonl", failures)
    write_json(folder / "summary.json", summary)
    evaluated = sum(s["n"] for s in summary)
    ctx.metrics.update({"evaluated": float(evaluated), "failureCount": float(len(failures))})
    ctx.message = f"{len(failures)} failures in {evaluated} tasks of {', '.join(spec.suites)}"
    ctx.publish("evaluation", OUTPUT)
