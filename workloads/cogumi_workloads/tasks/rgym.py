"""Suites drawn from reasoning-gym's procedural generators (``reasoning-gym==0.1.25``, Apache-2.0).

- ``reasoning``: ``syllogism``, ``knights_knaves`` and ``propositional_logic``, in turn;
- ``math``: ``basic_arithmetic`` and ``chain_sum``, in turn;
- ``hard-math``: ``gsm_symbolic`` (GSM8K-style word problems from symbolic templates).

Item ``i`` comes from generator ``i mod k`` at index ``i div k`` of a dataset seeded from the
suite's seed and the generator's name (default configurations). The verifier extracts the final
answer (:mod:`cogumi_workloads.tasks.extract`; a number for the math suites) and calls the
generator's own ``score_answer``: an item counts as solved only at the full score of 1.0
(reasoning-gym gives partial credit for near misses; we do not). For ``propositional_logic``
any valid, non-trivial conclusion scores 1.0; the reference answer is the generator's example.
An item whose own reference answer does not score 1.0 (some ``propositional_logic`` premises
admit no non-trivial conclusion) is skipped, so every item is solvable.
"""

from __future__ import annotations

import functools
import zlib
from typing import Any, ClassVar

from cogumi_api.common import Domain
from cogumi_workloads.tasks import extract
from cogumi_workloads.tasks.base import SplitName, SplitSizes, Suite, TaskItem, check_json, draw

RG_VERSION = "0.1.25"
ANSWER_LINE = "\n\nEnd your reply with a final line of the form 'Answer: <your answer>'."
GENERATED_SIZES = SplitSizes(train=1000, validation=100, test=200)


@functools.lru_cache(maxsize=32)
def _dataset(name: str, seed: int) -> Any:
    from cogumi_workloads.assets.models import require

    require(f"the reasoning-gym suite {name}", "reasoning_gym")
    import reasoning_gym

    return reasoning_gym.create_dataset(name, seed=seed, size=1_000_000)


class ReasoningGymSuite(Suite):
    generators: ClassVar[tuple[str, ...]]
    numeric: ClassVar[bool] = False

    def _generator_seed(self, name: str) -> int:
        return zlib.crc32(f"cogumi:{self.domain}:{name}:{self.seed}".encode())

    def _make(self, index: int) -> TaskItem | None:
        name = self.generators[index % len(self.generators)]
        position = index // len(self.generators)
        dataset = _dataset(name, self._generator_seed(name))
        entry = dataset[position]
        reference = entry["answer"]
        if reference is None:
            reference = entry["metadata"].get("example_answer", "")
        if float(dataset.score_answer(str(reference), entry)) < 1.0:
            return None
        return TaskItem(
            id=f"{self.domain}/{name}/{position}", domain=self.domain,
            prompt=str(entry["question"]).rstrip() + ANSWER_LINE,
            answer=str(reference),
            check=check_json({"generator": name, "seed": self._generator_seed(name),
                              "entry": {"question": entry["question"], "answer": entry["answer"],
                                        "metadata": entry["metadata"]}}),
            source=f"reasoning-gym=={RG_VERSION}:{name}#{position}")

    def _build_split(self, name: SplitName) -> list[TaskItem]:
        return draw(self._make, self.sizes, name)

    def extracted(self, completion: str) -> str:
        return extract.number_text(completion) if self.numeric else extract.final_answer(completion)

    def verify(self, item: TaskItem, completion: str) -> bool:
        data = item.data()
        answer = self.extracted(completion)
        if not answer:
            return False
        score = _dataset(data["generator"], int(data["seed"])).score_answer(answer, data["entry"])
        return float(score) >= 1.0


class ReasoningSuite(ReasoningGymSuite):
    domain: ClassVar[Domain] = "reasoning"
    source = f"reasoning-gym=={RG_VERSION}: syllogism, knights_knaves, propositional_logic"
    sizes = GENERATED_SIZES
    max_new_tokens = 192
    generators = ("syllogism", "knights_knaves", "propositional_logic")


class MathSuite(ReasoningGymSuite):
    domain: ClassVar[Domain] = "math"
    source = f"reasoning-gym=={RG_VERSION}: basic_arithmetic, chain_sum"
    sizes = GENERATED_SIZES
    max_new_tokens = 128
    generators = ("basic_arithmetic", "chain_sum")
    numeric = True


class HardMathSuite(ReasoningGymSuite):
    domain: ClassVar[Domain] = "hard-math"
    source = f"reasoning-gym=={RG_VERSION}: gsm_symbolic"
    sizes = GENERATED_SIZES
    max_new_tokens = 256
    generators = ("gsm_symbolic",)
    numeric = True
