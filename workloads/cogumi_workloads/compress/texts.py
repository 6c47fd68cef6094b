"""Examples for the compression stages: calibration text, held-out prompts, answers to check.

A :class:`~cogumi_api.common.DataRef` gives them as

- ``uri``: a JSONL file, or a folder holding ``<split>.jsonl`` (a Dataset's artifact; the operator
  turns ``dataset: NAME`` into this URI). Rows are ``{"prompt", "answer"}`` (also the task-suite
  export, with ``domain`` and ``check``, whose answers are then checked by the suite's verifier),
  or ``{"text"}`` for plain text;
- ``suite``: a builtin task suite (:mod:`cogumi_workloads.tasks`), items of the given split.

Without a DataRef the default set is the task suites of :data:`DEFAULT_DOMAINS`, interleaved one
item per domain in turn: their train split for calibration and tuning, validation for fitting
the confidence calibration, test for held-out prompts. Splits of a suite are disjoint, so
held-out prompts never appear in the calibration data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogumi_api.common import DataRef
from cogumi_workloads.records import normalise, read_jsonl
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.errors import PermanentError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from cogumi_workloads.tasks.base import SplitName, TaskItem

DEFAULT_DOMAINS = ("math", "reasoning", "finance", "automation", "code", "creative")


@dataclass(frozen=True)
class Example:
    prompt: str
    """A user message, or plain text when ``answer`` is None and ``chat`` is False."""
    answer: str | None = None
    chat: bool = True
    item: TaskItem | None = None
    """The task-suite item, when the answer is checked by a suite's verifier."""

    def correct(self, completion: str) -> bool:
        """Whether ``completion`` answers the example (the suite's verifier, else a normalised match)."""
        if self.item is not None:
            from cogumi_workloads.tasks.registry import get_suite

            return get_suite(self.item.domain).verify(self.item, completion)
        if self.answer is None:
            raise PermanentError("an example without an answer cannot be checked")
        return same_answer(completion, self.answer)


def same_answer(completion: str, answer: str) -> bool:
    """Normalised equality of the first line, or equal numbers when the answer is a number."""
    from cogumi_workloads.tasks import extract

    lines = completion.strip().splitlines()
    if lines and normalise(lines[0]) == normalise(answer):
        return True
    want = extract.number(answer)
    got: Decimal | None = extract.number(extract.final_answer(completion)) if want is not None else None
    return want is not None and got is not None and got == want


def _suite_examples(domain: str, split: SplitName, limit: int | None) -> list[Example]:
    from cogumi_workloads.tasks.registry import get_suite

    return [Example(prompt=i.prompt, answer=i.answer, item=i) for i in get_suite(domain).split(split, limit)]


def _interleave(groups: Sequence[list[Example]], limit: int) -> list[Example]:
    out: list[Example] = []
    for position in range(max((len(g) for g in groups), default=0)):
        for group in groups:
            if position < len(group):
                out.append(group[position])
                if len(out) >= limit:
                    return out
    return out


def _row_example(path: Path, number: int, row: dict[str, Any]) -> Example:
    if isinstance(row.get("prompt"), str):
        answer = row.get("answer")
        if answer is not None and not isinstance(answer, str):
            raise PermanentError(f"{path}:{number}: answer must be a string")
        item = None
        if isinstance(row.get("check"), str) and isinstance(row.get("domain"), str):
            from cogumi_workloads.tasks.base import TaskItem

            item = TaskItem.model_validate({k: row[k] for k in TaskItem.model_fields if k in row})
        return Example(prompt=row["prompt"], answer=answer, item=item)
    if isinstance(row.get("text"), str):
        return Example(prompt=row["text"], chat=False)
    raise PermanentError(f"{path}:{number}: a row needs a string 'prompt' (with 'answer') or 'text'")


def _uri_examples(uri: str, split: SplitName, limit: int, workdir: Path) -> list[Example]:
    path = uris.fetch(uri, workdir)
    if path.is_dir():
        candidates = [path / f"{split}.jsonl", path / "train.jsonl", path / "records.jsonl"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise PermanentError(f"{uri}: the folder holds none of {', '.join(c.name for c in candidates)}")
        path = found
    out: list[Example] = []
    for number, row in read_jsonl(path):
        out.append(_row_example(path, number, row))
        if len(out) >= limit:
            break
    if not out:
        raise PermanentError(f"{uri}: no examples in {path}")
    return out


def examples(ref: DataRef | None, split: SplitName, limit: int, workdir: Path,
             domains: Sequence[str] = DEFAULT_DOMAINS) -> list[Example]:
    """Up to ``limit`` examples of ``split`` from ``ref`` (or the default suites)."""
    if ref is not None and ref.limit is not None:
        limit = min(limit, ref.limit)
    if ref is None:
        per_domain = -(-limit // len(domains))
        return _interleave([_suite_examples(d, split, per_domain) for d in domains], limit)
    if ref.suite is not None:
        return _suite_examples(ref.suite, split, limit)
    if ref.uri is not None:
        return _uri_examples(ref.uri, split, limit, workdir)
    raise PermanentError(f"dataset {ref.dataset!r} was not resolved to a URI; it resolves only under the "
                         "operator (use uri: with the Dataset's artifact, or suite:, when running locally)")


def chat_prefix(tok: PreTrainedTokenizerBase, example: Example) -> str:
    """The text up to where the answer starts (the chat template's generation prompt)."""
    if example.chat and tok.chat_template:
        text: str = tok.apply_chat_template([{"role": "user", "content": example.prompt}], tokenize=False,
                                            add_generation_prompt=True)
        return text
    return example.prompt if not example.chat else example.prompt + "\n"


def render(tok: PreTrainedTokenizerBase, example: Example) -> tuple[str, str]:
    """(prefix, completion): the text before the answer and the answer as the model should write it."""
    prefix = chat_prefix(tok, example)
    if example.answer is None:
        return prefix, ""
    if example.chat and tok.chat_template:
        full: str = tok.apply_chat_template([{"role": "user", "content": example.prompt},
                                             {"role": "assistant", "content": example.answer}], tokenize=False)
        if full.startswith(prefix):
            return prefix, full[len(prefix):]
    return prefix, example.answer + (tok.eos_token or "")


def token_ids(tok: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Token ids of ``text`` exactly as written (templates carry their own special tokens)."""
    ids: list[int] = tok(text, add_special_tokens=False)["input_ids"]
    return ids


def encode(tok: PreTrainedTokenizerBase, example: Example, max_tokens: int) -> tuple[list[int], int]:
    """(ids, answer_start): the rendered example truncated to ``max_tokens``; the answer starts at answer_start."""
    prefix, completion = render(tok, example)
    head = token_ids(tok, prefix)
    ids = (head + token_ids(tok, completion))[:max_tokens]
    return ids, min(len(head), len(ids))


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
