"""Final answers of free-text generations, normalised so that self-consistency can vote on them.

The final answer is, in order of preference: the content of the last ``\\boxed{...}``, what follows
``####``, what follows the last "answer is"/"answer:"/"result:", else the last number in the text,
else the last non-empty line. Normalisation lowercases, drops surrounding punctuation, ``$``, ``%``
and thousands separators, and writes numbers canonically (``3.0`` → ``3``, ``1/2`` stays a string).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_HASHES = re.compile(r"####\s*(.+)")
_ANSWER = re.compile(r"(?:final answer|answer is|answer:|result:|result is)\s*[:=]?\s*(.+)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def final_answer(text: str) -> str:
    boxed = _BOXED.findall(text)
    if boxed:
        return boxed[-1]
    hashes = _HASHES.findall(text)
    if hashes:
        return hashes[-1]
    stated = _ANSWER.findall(text)
    if stated:
        return stated[-1].splitlines()[0]
    numbers = _NUMBER.findall(text)
    if numbers:
        return numbers[-1]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def normalise(answer: str) -> str:
    text = answer.strip().lower().replace("$", "").replace("%", "")
    text = text.strip(" \t.,;:!?\"'`*()[]")
    if re.fullmatch(r"-?\d[\d,]*(?:\.\d+)?", text):
        value = float(text.replace(",", ""))
        return str(int(value)) if value.is_integer() else repr(value)
    return " ".join(text.split())


@dataclass(frozen=True)
class Vote:
    winner: str
    """The normalised majority answer (ties go to the answer seen first)."""
    index: int
    """Index of the first sample whose answer is the winner."""
    counts: dict[str, int]
    agreement: float


def majority(texts: list[str]) -> Vote:
    if not texts:
        raise ValueError("no samples to vote on")
    answers = [normalise(final_answer(t)) for t in texts]
    counts = Counter(answers)
    best = max(counts.values())
    winner = next(a for a in answers if counts[a] == best)
    return Vote(winner, answers.index(winner), dict(counts), best / len(answers))
