"""The ``finance`` suite: percentages, discounts, simple and compound interest.

Source: our own generators (:func:`cogumi_workloads.generators.percent` and
:func:`~cogumi_workloads.generators.interest`, in turn), whose answers are exact in decimal
arithmetic, rounded half-up to cents. Splits are drawn from the seeded generators, deduplicated
(test 200, validation 100, train 1000).

Verifier: the reply's number (:func:`cogumi_workloads.tasks.extract.number`; ``$`` and thousands
separators allowed), rounded half-up to cents, must equal the expected amount exactly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

from cogumi_api.common import Domain
from cogumi_workloads.generators import interest, percent
from cogumi_workloads.tasks import extract
from cogumi_workloads.tasks.base import SplitName, SplitSizes, Suite, TaskItem, check_json, draw
from cogumi_workloads.tasks.rgym import ANSWER_LINE

CENT = Decimal("0.01")


def same_amount(completion: str, expected: str) -> bool:
    value = extract.number(completion)
    if value is None:
        return False
    return value.quantize(CENT, rounding=ROUND_HALF_UP) == Decimal(expected).quantize(CENT, rounding=ROUND_HALF_UP)


class FinanceSuite(Suite):
    domain: ClassVar[Domain] = "finance"
    source = "cogumi generators percent and interest (exact decimal answers, cents)"
    sizes = SplitSizes(train=1000, validation=100, test=200)
    max_new_tokens = 160

    def _make(self, index: int) -> TaskItem:
        kind = ("percent", "interest")[index % 2]
        question, answer = (percent if kind == "percent" else interest)(self.rng(f"item:{index}"))
        return TaskItem(id=f"finance/{kind}/{index}", domain=self.domain, prompt=question + ANSWER_LINE,
                        answer=answer, check=check_json({"amount": answer}), source=f"cogumi:{kind}#{index}")

    def _build_split(self, name: SplitName) -> list[TaskItem]:
        return draw(self._make, self.sizes, name)

    def verify(self, item: TaskItem, completion: str) -> bool:
        return same_amount(completion, item.data()["amount"])
