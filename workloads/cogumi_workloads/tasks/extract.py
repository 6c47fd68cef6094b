"""Pulling the answer out of a model's reply. Verifiers decide on what these return.

Rules (the same for every model):

- the *final answer* is the text inside the last ``<answer>...</answer>``, else what follows the
  last ``Answer:`` / ``answer is`` on its line, else the last non-empty line; surrounding
  markdown emphasis, quotes and a trailing full stop are removed;
- a *number* is the last number in the final answer when an explicit answer marker is present,
  else the last number in the whole reply (thousands separators and a leading ``$`` allowed);
- *code* is the first fenced block (``` or ```python), else the whole reply;
- a *JSON object* is the first ``{...}`` in the reply that parses as a JSON object;
- a *choice* is the letter after the last "answer: / answer is", else a leading option letter
  standing alone (``B``, ``(B)``, ``B.``, ``B:``; not the article in "A ball ..."; not when the
  reply lists several options, one a line), else the one option whose full text appears in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_ANSWER_MARK = re.compile(r"(?:final answer|answer)\s*(?:is|:)\s*:?\s*(.*)", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])[-−]?\$?\d[\d,]*(?:\.\d+)?|(?<![\w.])[-−]?\$?\.\d+")
_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.IGNORECASE | re.DOTALL)
_STRIP = " \t\r\n*_`\"'"


def _clean(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = text.strip().strip(_STRIP).strip()
        text = text[:-1] if text.endswith(".") else text
    return text


def has_marker(text: str) -> bool:
    return bool(_ANSWER_TAG.search(text) or _ANSWER_MARK.search(text))


def final_answer(text: str) -> str:
    tags = _ANSWER_TAG.findall(text)
    if tags:
        return _clean(tags[-1])
    marks = list(_ANSWER_MARK.finditer(text))
    if marks:
        found = marks[-1].group(1)
        if found.strip():
            return _clean(found)
    lines = [line for line in text.splitlines() if line.strip()]
    return _clean(lines[-1]) if lines else ""


def _to_decimal(token: str) -> Decimal | None:
    cleaned = token.replace(",", "").replace("$", "").replace("−", "-")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def number(text: str) -> Decimal | None:
    """The answer as a number (see the module doc), or ``None``."""
    scope = final_answer(text) if has_marker(text) else text
    found = _NUMBER.findall(scope) or _NUMBER.findall(text)
    return _to_decimal(found[-1]) if found else None


def number_text(text: str) -> str:
    """:func:`number` as plain text (``-12.5``), or ``""``."""
    value = number(text)
    if value is None:
        return ""
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")


def code(text: str) -> str:
    blocks = _FENCE.findall(text)
    return blocks[0] if blocks else text


def first_block_closed(text: str) -> bool:
    """Whether the reply's first fenced code block has been closed."""
    match = _FENCE.search(text)
    return match is not None and match.group(0).count("```") >= 2


def json_object(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def choice(text: str, letters: Sequence[str], options: Sequence[str]) -> str | None:
    """The option letter the reply picks, or ``None`` when it picks none unambiguously."""
    alternatives = "".join(letters)
    marked = re.findall(rf"(?i:answer)\s*(?i:is|:)\s*:?\s*(?:\*\*)?\(?([{alternatives}])\b", text)
    if marked:
        return str(marked[-1])
    listed = set(re.findall(rf"^\s*\(?([{alternatives}])[.)]", text, re.MULTILINE))
    lead = re.match(rf"^\s*(?:\*\*)?\(?([{alternatives}])(?:[.):]|\*\*|[ \t]*(?:\n|$))", text)
    if lead and len(listed) <= 1:
        return lead.group(1)
    lowered = text.lower()
    named = [letter for letter, option in zip(letters, options, strict=True) if option.lower() in lowered]
    return named[0] if len(named) == 1 else None
