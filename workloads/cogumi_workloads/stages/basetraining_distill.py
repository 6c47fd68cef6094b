"""``basetraining.distill``: bidirectional distillation pairs (plan 1C) from a teacher's answers.

The teacher (``spec.distillation.teacher``, an OpenAI-compatible endpoint; API key as described in
:mod:`cogumi_workloads.training.teachers`) answers up to ``ceil(pairs / 2)`` prompts of the training
data (a seeded sample). Every answer is checked by the data's verifier (the suite's, or the
reference answer for JSONL rows); each verified answer yields two pairs:

- forward: the prompt → the teacher's answer;
- reverse: "Write a question whose answer is: <answer>" → the original prompt.

The teacher's ``budget`` caps the spend (see :mod:`cogumi_workloads.training.cascade`); the stage
ends cleanly with the pairs it has. Writes artifact ``distilled`` (``pairs.jsonl``: prompt, answer,
direction, id). Metrics: prompts, pairs, forward, reverse, rejected, calls, spend, tokens.
"""

from __future__ import annotations

import math
import random

from cogumi_api.training import BaseTrainingSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.training import data as training_data
from cogumi_workloads.training.cascade import Item, run_cascade, suite_check
from cogumi_workloads.training.files import write_jsonl
from cogumi_workloads.training.teachers import TUTOR, TeacherClient, resolve_url

OUTPUT = "distilled"
REVERSE = "Write a question whose answer is:\n\n{answer}"


def run(ctx: StageContext[BaseTrainingSpec]) -> None:
    spec = ctx.spec
    if spec.distillation is None:
        raise PermanentError("basetraining.distill runs only when spec.distillation is set")
    data = training_data.load(ctx, spec.data)
    wanted = math.ceil(spec.distillation.pairs / 2)
    chosen = list(data.train)
    random.Random(spec.training.seed).shuffle(chosen)
    chosen = chosen[:wanted]
    tasks = {t.id: t for t in chosen}
    teacher = spec.distillation.teacher
    client = TeacherClient(teacher, system=TUTOR,
                           url=resolve_url(teacher, "spec.distillation.teacher", ctx.invocation.endpoints))
    try:
        result = run_cascade([Item(t.id, t.prompt) for t in chosen], [client], suite_check(data.suite, tasks),
                             ctx.log)
    finally:
        client.close()
    rows = []
    for acc in result.accepted:
        rows.append({"id": acc.id, "direction": "forward", "prompt": acc.prompt, "answer": acc.answer})
        rows.append({"id": acc.id, "direction": "reverse", "prompt": REVERSE.format(answer=acc.answer),
                     "answer": acc.prompt})
    rows = rows[:spec.distillation.pairs]
    folder = ctx.output_path(OUTPUT)
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "pairs.jsonl", rows)
    tier = result.tiers[0]
    ctx.metrics.update({
        "prompts": float(len(chosen)), "pairs": float(len(rows)),
        "forward": float(sum(r["direction"] == "forward" for r in rows)),
        "reverse": float(sum(r["direction"] == "reverse" for r in rows)),
        "rejected": float(tier.wrong + tier.unverifiable + tier.errors),
        "calls": float(tier.calls), "spend": round(tier.spend, 6), "tokens": float(tier.tokens),
        "budgetExhausted": float(tier.budget_exhausted),
    })
    ctx.message = (f"{len(rows)} distillation pairs from {tier.accepted} verified answers of teacher "
                   f"{client.name} ({tier.calls} calls, spend {tier.spend:.4f})")
    ctx.publish("distilled", OUTPUT)
