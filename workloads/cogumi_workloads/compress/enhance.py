"""Enhanced hardest examples (plan 2E): a teacher answers the prompts the compressed model finds hardest.

Each chosen example with an answer is sent to ``recover.teacher`` (one tier of
:func:`cogumi_workloads.training.cascade.run_cascade`: the same retries, budget cap and error handling
as the modifiers' cascade). A reply the example's own check accepts (the suite's verifier, else a
normalised match with the reference) replaces the reference answer: the recovery then learns the
teacher's fuller answer where it is right, and keeps the reference everywhere else. Plain text and
examples the teacher fails stay as they were, so nothing is lost when the teacher is down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cogumi_api.common import Teacher
from cogumi_workloads.compress.texts import Example
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.training.cascade import Item, Verdict, run_cascade, verdict
from cogumi_workloads.training.teachers import TUTOR, Completion, TeacherClient


def enhance(chosen: Sequence[Example], teacher: Teacher, url: str, log: JsonLogger) -> tuple[list[Example],
                                                                                           dict[str, float]]:
    """``chosen`` with verified teacher answers in place of the references; and the teacher's metrics."""
    asked = {str(i): example for i, example in enumerate(chosen) if example.answer is not None and example.chat}

    def check(item: Item, answer: Completion) -> Verdict:
        return verdict(asked[item.id].correct(answer.text), answer)

    client = TeacherClient(teacher, system=TUTOR, url=url)
    try:
        result = run_cascade([Item(i, e.prompt) for i, e in asked.items()], [client], check, log)
    finally:
        client.close()
    better = {a.id: a.answer for a in result.accepted}
    out = [replace(e, answer=better[str(i)]) if str(i) in better else e for i, e in enumerate(chosen)]
    (stats,) = result.tiers  # one tier, always reported (with zero calls when nothing was asked)
    metrics = {"teacherAsked": float(len(asked)), "teacherAccepted": float(len(better)),
               "teacherCalls": float(stats.calls), "teacherErrors": float(stats.errors),
               "teacherSpend": round(stats.spend, 6), "teacherTokens": float(stats.tokens)}
    return out, metrics
