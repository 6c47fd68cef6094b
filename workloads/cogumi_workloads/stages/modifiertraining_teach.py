"""``modifiertraining.teach``: the base's failures down the cascade of teachers.

Tiers are ``spec.teachers`` in order, each a URL or a ModelDeployment the operator serves (see
:mod:`cogumi_workloads.training.cascade` for escalation and budget caps,
:mod:`cogumi_workloads.training.teachers` for endpoints and API keys). Every
teacher answer is checked by the domain's verifier; only verified answers become training examples.
Without teachers the suite's reference answers of the failed tasks are the examples (metric
``referenceAnswers``).

Reads artifact ``baseline``; writes ``teacher-data``: ``accepted.jsonl`` (id, prompt, answer,
tier), ``unresolved.jsonl`` and ``cascade.json``. Metrics: items, accepted, unresolved, spend,
calls, and per tier ``tier.<name>.{calls,accepted,wrong,unverifiable,errors,escalated,tokens,spend,
budgetExhausted}``.
"""

from __future__ import annotations

from cogumi_api.training import ModifierTrainingSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.tasks.base import TaskItem
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.training.cascade import Item, run_cascade, suite_check
from cogumi_workloads.training.files import read_rows, write_json, write_jsonl
from cogumi_workloads.training.teachers import TUTOR, TeacherClient, resolve_url

OUTPUT = "teacher-data"


def run(ctx: StageContext[ModifierTrainingSpec]) -> None:
    spec = ctx.spec
    _, baseline = ctx.input("baseline")
    failures = [TaskItem.model_validate(row) for row in read_rows(baseline / "failures.jsonl")]
    folder = ctx.output_path(OUTPUT)
    folder.mkdir(parents=True, exist_ok=True)
    if not spec.teachers:
        write_jsonl(folder / "accepted.jsonl", ({"id": t.id, "prompt": t.prompt, "answer": t.answer,
                                                 "tier": "reference"} for t in failures))
        write_jsonl(folder / "unresolved.jsonl", [])
        write_json(folder / "cascade.json", {"tiers": [], "referenceAnswers": len(failures)})
        ctx.metrics.update({"items": float(len(failures)), "accepted": float(len(failures)), "unresolved": 0.0,
                            "spend": 0.0, "calls": 0.0, "referenceAnswers": float(len(failures))})
        ctx.message = f"no teachers: {len(failures)} reference answers of the failed tasks are the examples"
        ctx.publish("teacher-data", OUTPUT)
        return
    suite = get_suite(spec.domain)
    endpoints = ctx.invocation.endpoints
    clients = [TeacherClient(t, system=TUTOR, url=resolve_url(t, f"spec.teachers[{i}]", endpoints))
               for i, t in enumerate(spec.teachers)]
    try:
        result = run_cascade([Item(t.id, t.prompt) for t in failures], clients,
                             suite_check(suite, {t.id: t for t in failures}), ctx.log)
    finally:
        for client in clients:
            client.close()
    write_jsonl(folder / "accepted.jsonl", ({"id": a.id, "prompt": a.prompt, "answer": a.answer, "tier": a.tier}
                                            for a in result.accepted))
    write_jsonl(folder / "unresolved.jsonl", ({"id": i.id, "prompt": i.prompt} for i in result.unresolved))
    write_json(folder / "cascade.json", {"tiers": [vars(t) for t in result.tiers], "trail": result.trail})
    ctx.metrics.update(result.metrics())
    ctx.message = f"{len(result.accepted)} of {len(failures)} failures taught (" + ", ".join(
        f"{t.name}: {t.accepted}/{t.calls} calls, spend {t.spend:.4f}"
        + (" [budget reached]" if t.budget_exhausted else "") for t in result.tiers) + ")"
    ctx.publish("teacher-data", OUTPUT)
