"""The ``science`` suite: BIG-bench ``physics`` and ``physical_intuition`` as lettered multiple choice.

Source: the two task JSON files extracted from the ``bigbench==1.0.0`` sdist
(:mod:`cogumi_workloads.assets.sources`), 310 questions with one correct option each (2 to 4
options). Each question's options are shuffled by a seeded RNG keyed on its id and lettered
A, B, C, ...; the reference answer is the correct letter. Splits: a seeded shuffle of the 310
ids sliced into test 100, validation 30, train 180.

Verifier: the reply's choice (:func:`cogumi_workloads.tasks.extract.choice`: a leading letter,
else "answer: X", else the one option whose full text alone appears) must be the correct letter.
"""

from __future__ import annotations

import json
import random
import string
from typing import ClassVar

from cogumi_api.common import Domain
from cogumi_workloads.assets.sources import BIGBENCH, BIGBENCH_TASKS, source_path
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.tasks import extract
from cogumi_workloads.tasks.base import SplitName, SplitSizes, Suite, TaskItem, check_json, partition

PREFIX = {
    "physics": "Which formula is the most useful for solving this physics problem?",
    "physical_intuition": "Answer this question about a physical system.",
}


class ScienceSuite(Suite):
    domain: ClassVar[Domain] = "science"
    source = f"bigbench=={BIGBENCH.version} sdist: physics, physical_intuition (multiple choice)"
    sizes = SplitSizes(train=180, validation=30, test=100)
    max_new_tokens = 48

    def _all(self) -> list[TaskItem]:
        folder = source_path("bigbench-physics")
        items = []
        for task in BIGBENCH_TASKS:
            examples = json.loads((folder / f"{task}.json").read_text(encoding="utf-8"))["examples"]
            for index, example in enumerate(examples):
                correct = [option for option, score in example["target_scores"].items() if score == 1]
                if len(correct) != 1:
                    raise PermanentError(f"BIG-bench {task} example {index} has {len(correct)} correct options")
                item_id = f"bigbench:{task}:{index}"
                options = sorted(example["target_scores"])
                random.Random(f"cogumi:science:{item_id}:{self.seed}").shuffle(options)
                letters = list(string.ascii_uppercase[:len(options)])
                answer = letters[options.index(correct[0])]
                lines = "\n".join(f"{letter}. {option}" for letter, option in zip(letters, options, strict=True))
                prompt = (f"{PREFIX[task]}\n\n{example['input'].strip()}\n\n{lines}\n\n"
                          "Reply with the letter of the correct option.")
                items.append(TaskItem(id=item_id, domain=self.domain, prompt=prompt, answer=answer,
                                      check=check_json({"letters": letters, "options": options, "correct": answer}),
                                      source=f"bigbench=={BIGBENCH.version}:{task}#{index}"))
        return items

    def _build_split(self, name: SplitName) -> list[TaskItem]:
        return partition(self._all(), self.sizes, self.rng("split"), name)

    def verify(self, item: TaskItem, completion: str) -> bool:
        data = item.data()
        return extract.choice(completion, data["letters"], data["options"]) == data["correct"]
