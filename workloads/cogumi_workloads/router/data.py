"""Domain-labelled queries for the router, from the task suites (:mod:`cogumi_workloads.tasks`).

A query is a task's prompt labelled with its suite's domain, as a user would type it: paragraphs
that only fix the answer format for the verifier ("End your reply with a final line …", "Reply
with the letter …") are dropped, since users do not write them and they would let the router
learn the suites' boilerplate instead of the question; so is a tool catalogue ("You can call these
tools: …", which a chat request carries in its ``tools`` field, not in the user's text), and a
leading "Request:" label. Splits are the suites' own
(disjoint, seeded): train for fitting, validation for the threshold, test for accuracy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.tasks.base import SplitName

_DROPPED_PARAGRAPH = re.compile(r"^(end your reply with|reply with|answer with|you can call these tools)\b",
                                re.IGNORECASE)
_LABEL = re.compile(r"^request:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    domain: str


def as_query_text(prompt: str) -> str:
    """The prompt without answer-format and tool-catalogue paragraphs (whole if nothing else is left)."""
    paragraphs = [_LABEL.sub("", p.strip()) for p in re.split(r"\n\s*\n", prompt.strip())]
    kept = [p for p in paragraphs if p and not _DROPPED_PARAGRAPH.match(p)]
    return "\n\n".join(kept) if kept else prompt.strip()


def load_queries(domains: Sequence[str], split: SplitName, per_domain: int, log: JsonLogger) -> list[Query]:
    """Up to ``per_domain`` queries of each domain from split ``split`` of its suite, domain by domain."""
    from cogumi_workloads.tasks.registry import get_suite

    queries: list[Query] = []
    for domain in domains:
        items = get_suite(domain).split(split, limit=per_domain)
        if not items:
            raise PermanentError(f"the {domain} task suite has no {split} items")
        if len(items) < per_domain:
            log.warning("suite split smaller than asked; using all of it", domain=domain, split=split,
                        available=len(items), asked=per_domain)
        queries.extend(Query(item.id, as_query_text(item.prompt), domain) for item in items)
    log.info("queries loaded", split=split, count=len(queries), domains=list(domains))
    return queries
