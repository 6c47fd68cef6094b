"""``dataset.filter``: drop records that break the Dataset's QualityFilter rules.

Rules, checked in this order; a dropped record counts against the first rule it breaks:

- ``tooShort``: the prompt, stripped of surrounding whitespace, has fewer than ``minPromptChars``
  characters;
- ``tooLong``: the prompt has more than ``maxPromptChars`` characters;
- ``noAnswer``: ``requireAnswer`` is true and the answer is empty or only whitespace;
- ``answerTooLong``: the answer has more than ``maxAnswerChars`` characters;
- ``nonPrintable``: more than ``maxNonPrintableRatio`` of the characters of prompt + answer are
  not printable (``str.isprintable()`` is false and the character is not a newline, carriage
  return or tab), e.g. control characters or U+FFFD left by bad decoding.

Reads artifact ``deduped`` (or ``records`` when dedup did not run); writes ``filtered``
(``filtered.jsonl``). Metrics: recordsIn, kept, dropped, and dropped<Rule> for every rule
(droppedTooShort, droppedTooLong, droppedNoAnswer, droppedAnswerTooLong, droppedNonPrintable).
"""

from __future__ import annotations

from cogumi_api.data import DatasetSpec, QualityFilter
from cogumi_workloads.records import Record, read_records, write_records
from cogumi_workloads.runtime.context import StageContext

OUTPUT = "filtered.jsonl"
RULES = ("tooShort", "tooLong", "noAnswer", "answerTooLong", "nonPrintable")
_ALLOWED_CONTROL = frozenset("\n\r\t")


def non_printable_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if not ch.isprintable() and ch not in _ALLOWED_CONTROL)
    if "\ufffd" in text:
        bad += text.count("\ufffd")
    return bad / len(text)


def broken_rule(record: Record, rules: QualityFilter) -> str | None:
    """The first rule ``record`` breaks, or None when it is kept."""
    prompt, answer = record["prompt"], record["answer"]
    if len(prompt.strip()) < rules.min_prompt_chars:
        return "tooShort"
    if len(prompt) > rules.max_prompt_chars:
        return "tooLong"
    if rules.require_answer and not answer.strip():
        return "noAnswer"
    if len(answer) > rules.max_answer_chars:
        return "answerTooLong"
    if non_printable_ratio(prompt + answer) > rules.max_non_printable_ratio:
        return "nonPrintable"
    return None


def run(ctx: StageContext[DatasetSpec]) -> None:
    name, path = ctx.input("deduped", "records")
    records = read_records(path)
    dropped = dict.fromkeys(RULES, 0)
    kept: list[Record] = []
    for record in ctx.progress(records, "filter"):
        rule = broken_rule(record, ctx.spec.filter)
        if rule is None:
            kept.append(record)
        else:
            dropped[rule] += 1
    write_records(ctx.output_path(OUTPUT), kept)
    ctx.log.info("filtered", input=name, kept=len(kept), dropped=dropped)
    ctx.metrics.update({"recordsIn": float(len(records)), "kept": float(len(kept)),
                        "dropped": float(len(records) - len(kept))})
    for rule, count in dropped.items():
        ctx.metrics["dropped" + rule[0].upper() + rule[1:]] = float(count)
    ctx.publish("filtered", OUTPUT)
