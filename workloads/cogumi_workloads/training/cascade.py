"""Cascaded teachers: ordered tiers; only what a tier fails or cannot verify escalates to the next.

Every item goes to tier 1 first. Each teacher answer is checked by the domain verifier:

- ``correct``: accepted as a training example, the item leaves the cascade;
- ``wrong``; or ``unverifiable``: the verifier rejected a reply that holds no complete answer to
  judge (empty, or cut off at the tier's ``maxTokens``); or the call failed: the item escalates
  to the next tier.

A tier with ``samples`` above 1 and a ``temperature`` above 0 tries an item up to ``samples`` times
(each call seeded from the item id and attempt number, so reruns repeat) and keeps the first
verified answer: rejection sampling against the verifier.

A tier with a ``budget`` makes a call only when the call's worst-case cost (prompt tokens bounded
from the characters, plus ``maxTokens``, at the tier's price) still fits what is left, so its spend
never exceeds the cap. When the cap is reached the tier stops and every item it has not answered
escalates. Items that leave the last tier unresolved stay unresolved: the stage ends cleanly with
what it has.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cogumi_workloads.runtime.logs import JsonLogger, progress
from cogumi_workloads.tasks.base import Suite, TaskItem
from cogumi_workloads.training.teachers import Completion, TeacherClient, TeacherError

Verdict = Literal["correct", "wrong", "unverifiable"]


@dataclass(frozen=True)
class Item:
    id: str
    prompt: str


@dataclass(frozen=True)
class Accepted:
    id: str
    prompt: str
    answer: str
    tier: str


@dataclass
class TierStats:
    name: str
    budget: float | None
    calls: int = 0
    accepted: int = 0
    wrong: int = 0
    unverifiable: int = 0
    errors: int = 0
    escalated: int = 0
    tokens: int = 0
    spend: float = 0.0
    budget_exhausted: bool = False

    def metrics(self) -> dict[str, float]:
        prefix = f"tier.{self.name}."
        values = {"calls": self.calls, "accepted": self.accepted, "wrong": self.wrong,
                  "unverifiable": self.unverifiable, "errors": self.errors, "escalated": self.escalated,
                  "tokens": self.tokens, "spend": round(self.spend, 6),
                  "budgetExhausted": int(self.budget_exhausted)}
        return {prefix + k: float(v) for k, v in values.items()}


@dataclass
class CascadeResult:
    accepted: list[Accepted] = field(default_factory=list)
    unresolved: list[Item] = field(default_factory=list)
    tiers: list[TierStats] = field(default_factory=list)
    trail: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Per item id, every tier it reached and what happened there (a verdict, ``error`` or ``budget``)."""

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {
            "items": float(len(self.accepted) + len(self.unresolved)),
            "accepted": float(len(self.accepted)),
            "unresolved": float(len(self.unresolved)),
            "spend": round(sum(t.spend for t in self.tiers), 6),
            "calls": float(sum(t.calls for t in self.tiers)),
        }
        for tier in self.tiers:
            out.update(tier.metrics())
        return out


def verdict(passed: bool, answer: Completion) -> Verdict:
    """``correct`` when the check passed; else ``unverifiable`` for a reply with no complete answer to judge."""
    if passed:
        return "correct"
    if not answer.text.strip() or answer.finish_reason == "length":
        return "unverifiable"
    return "wrong"


def suite_check(suite: Suite, tasks: dict[str, TaskItem]) -> Callable[[Item, Completion], Verdict]:
    """The verdict of ``suite``'s verifier on a teacher's reply to the task with the item's id."""

    def check(item: Item, answer: Completion) -> Verdict:
        return verdict(suite.verify(tasks[item.id], answer.text), answer)

    return check


def _attempts(client: TeacherClient, item: Item, stats: TierStats, check: Callable[[Item, Completion], Verdict],
              result: CascadeResult, log: JsonLogger) -> str:
    """Up to ``samples`` calls for ``item`` at one tier; ``correct``, ``budget`` or the last failure."""
    attempts = client.teacher.samples if client.teacher.temperature > 0 else 1
    outcome = "wrong"
    for attempt in range(attempts):
        budget = client.teacher.budget
        if budget is not None and stats.spend + client.worst_case_cost(item.prompt) > budget:
            if attempt == 0:
                result.trail[item.id].append((client.name, "budget"))
                return "budget"
            break  # this item used what was left; the next one finds the tier exhausted
        try:
            answer = client.complete(item.prompt, seed=zlib.crc32(f"{item.id}:{attempt}".encode()))
        except TeacherError as exc:
            stats.errors += 1
            result.trail[item.id].append((client.name, "error"))
            log.warning("teacher call failed", tier=client.name, item=item.id, error=str(exc))
            outcome = "error"
            continue
        stats.calls += 1
        stats.tokens += answer.tokens
        stats.spend += answer.cost
        outcome = check(item, answer)
        result.trail[item.id].append((client.name, outcome))
        if outcome == "correct":
            stats.accepted += 1
            result.accepted.append(Accepted(item.id, item.prompt, answer.text, client.name))
            return outcome
    if outcome == "wrong":
        stats.wrong += 1
    elif outcome == "unverifiable":
        stats.unverifiable += 1
    return outcome


def run_cascade(items: Sequence[Item], tiers: Sequence[TeacherClient], check: Callable[[Item, Completion], Verdict],
                log: JsonLogger) -> CascadeResult:
    """Send ``items`` down the ``tiers``; returns the accepted answers, the unresolved items and per-tier stats."""
    result = CascadeResult(trail={item.id: [] for item in items})
    pending = list(items)
    for client in tiers:
        stats = TierStats(client.name, client.teacher.budget)
        result.tiers.append(stats)
        escalate: list[Item] = []
        for position, item in enumerate(progress(pending, log, f"tier {client.name}", total=len(pending))):
            outcome = _attempts(client, item, stats, check, result, log)
            if outcome == "budget":
                stats.budget_exhausted = True
                escalate.extend(pending[position:])
                for skipped in pending[position + 1:]:
                    result.trail[skipped.id].append((client.name, "budget"))
                log.warning("tier budget reached; remaining items escalate", tier=client.name, remaining=len(pending)
                            - position, spend=round(stats.spend, 6), budget=client.teacher.budget)
                break
            if outcome != "correct":
                escalate.append(item)
        stats.escalated = len(escalate)
        log.info("tier done", tier=client.name, calls=stats.calls, accepted=stats.accepted, wrong=stats.wrong,
                 unverifiable=stats.unverifiable, errors=stats.errors, spend=round(stats.spend, 6),
                 escalated=stats.escalated, budgetExhausted=stats.budget_exhausted)
        pending = escalate
        if not pending:
            break
    result.unresolved = pending
    return result
