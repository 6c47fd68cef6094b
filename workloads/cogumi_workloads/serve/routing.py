"""Which modifier answers, and whether to escalate.

The router is anything with ``route(text) -> (domain, confidence)`` (:class:`Router`); the trained
one is the RouterModel's ``router`` artifact, loaded by :func:`cogumi_workloads.router.loader.load_router`
(an MLP over MiniLM embeddings; it also carries the chosen threshold, per-domain thresholds and the
distilled escalation detector). :class:`KeywordBaselineRouter` exists only to test the server's
plumbing without a trained router; it is selected explicitly (``serve --router-baseline``) and
reported as such in every response's metadata.

Escalation happens when the router's confidence is below the threshold, or when the session shows
dissatisfaction. The detector is the router artifact's escalation student when present; otherwise
:class:`LexicalDissatisfactionBaseline`, whose rules are documented on the class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

DEFAULT_THRESHOLD = 0.8
"""Confidence threshold when the router artifact carries none (the plan's candidates are 75/80/85 %)."""


@runtime_checkable
class Router(Protocol):
    def route(self, text: str) -> tuple[str, float]: ...


class DissatisfactionDetector(Protocol):
    def score(self, message: str, previous: str | None = None) -> float: ...

    def dissatisfied(self, message: str, previous: str | None = None) -> bool: ...


class KeywordBaselineRouter:
    """TEST BASELINE ONLY: routes by counting domain keywords; confidence = share of the hits.

    Not a model of anything; it lets the tests exercise routing, confidence thresholds and
    escalation deterministically. A query with no keyword gets the first domain at confidence 0.
    """

    name = "keyword-baseline (test only)"
    KEYWORDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "math": ("sum", "add", "plus", "minus", "times", "multiply", "divide", "equation", "integral", "number",
                 "+", "*", "solve"),
        "code": ("python", "function", "code", "bug", "compile", "def ", "class ", "javascript", "sql"),
        "reasoning": ("if", "then", "therefore", "puzzle", "logic", "who", "deduce"),
        "science": ("atom", "physics", "chemistry", "cell", "energy", "gravity"),
        "finance": ("interest", "loan", "percent", "%", "price", "invest"),
        "creative": ("poem", "story", "write a", "haiku"),
        "automation": ("json", "tool", "api call", "schedule", "workflow"),
        "hard-math": ("prove", "theorem", "lemma"),
    }

    def __init__(self, domains: list[str]) -> None:
        self.domains = domains or ["math"]

    def route(self, text: str) -> tuple[str, float]:
        lower = text.lower()
        hits = {d: sum(lower.count(k) for k in self.KEYWORDS.get(d, ())) for d in self.domains}
        total = sum(hits.values())
        if total == 0:
            return self.domains[0], 0.0
        best = max(self.domains, key=lambda d: hits[d])
        return best, hits[best] / total


class LexicalDissatisfactionBaseline:
    """Dissatisfaction from the user's new message and their previous query, by three rules:

    1. an explicit complaint phrase (``COMPLAINTS``: "that's wrong", "doesn't work", "not what I
       asked", "try again", "useless", "talk to a human", ...);
    2. the previous query asked again: word-set Jaccard overlap ≥ 0.8 with the previous query
       (a user repeating the question did not get what they needed);
    3. shouting: at least 12 letters of which ≥ 70 % are capitals, or "??"/"!!".

    Score 1.0 when a rule fires, else 0.0. Used until a RouterModel's escalation student is served.
    """

    name = "lexical-baseline"
    COMPLAINTS = (
        "that's wrong", "that is wrong", "thats wrong", "not right", "incorrect", "wrong again", "doesn't work",
        "does not work", "didn't work", "still broken", "not what i asked", "try again", "useless",
        "you're not helping",
        "makes no sense", "made no sense", "talk to a human", "real person", "i give up", "waste of my time",
        "didn't answer", "did not answer",
    )
    _WORDS = re.compile(r"[a-z0-9']+")

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def score(self, message: str, previous: str | None = None) -> float:
        lower = message.lower()
        if any(phrase in lower for phrase in self.COMPLAINTS):
            return 1.0
        if previous:
            now, before = set(self._WORDS.findall(lower)), set(self._WORDS.findall(previous.lower()))
            if now and before and len(now & before) / len(now | before) >= 0.8:
                return 1.0
        letters = [c for c in message if c.isalpha()]
        if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) >= 0.7:
            return 1.0
        return 1.0 if ("??" in message or "!!" in message) else 0.0

    def dissatisfied(self, message: str, previous: str | None = None) -> bool:
        return self.score(message, previous) >= self.threshold


@dataclass
class RouteDecision:
    """What answered a request and why; returned to the client as metadata."""

    modifier: str | None
    """The adapter used (a domain), or None for the base model."""
    source: str
    """"router", "explicit" (the request named it), "base" (the request named the base) or "no-router"."""
    domain: str | None = None
    confidence: float | None = None
    threshold: float | None = None
    router: str | None = None
    escalate_reasons: list[str] = field(default_factory=list)
    dissatisfaction: float | None = None


@dataclass
class RoutingPolicy:
    router: Router | None
    router_name: str | None
    detector: DissatisfactionDetector
    detector_name: str
    default_threshold: float = DEFAULT_THRESHOLD

    def threshold_for(self, domain: str) -> float:
        get = getattr(self.router, "threshold_for", None)
        value = get(domain) if callable(get) else None
        return self.default_threshold if value is None else float(value)

    def route(self, text: str, modifiers: tuple[str, ...]) -> RouteDecision:
        """Ask the router; a domain without a loaded modifier is answered by the base model."""
        if self.router is None:
            return RouteDecision(None, "no-router")
        domain, confidence = self.router.route(text)
        threshold = self.threshold_for(domain)
        decision = RouteDecision(domain if domain in modifiers else None, "router", domain, float(confidence),
                                 threshold, self.router_name)
        if confidence < threshold:
            decision.escalate_reasons.append(f"router confidence {confidence:.3f} below threshold {threshold:.3f}")
        return decision

    def check_session(self, decision: RouteDecision, message: str, previous: str | None) -> None:
        score = float(self.detector.score(message, previous))
        decision.dissatisfaction = score
        if self.detector.dissatisfied(message, previous):
            decision.escalate_reasons.append(f"dissatisfaction detected by {self.detector_name} (score {score:.2f})")


def load_policy(router_uri: str | None, baseline_domains: list[str] | None, default_threshold: float,
                cache_dir: Path | None = None) -> RoutingPolicy:
    """The routing policy: the trained router artifact, the keyword baseline (tests), or none."""
    detector: DissatisfactionDetector = LexicalDissatisfactionBaseline()
    detector_name = LexicalDissatisfactionBaseline.name
    if baseline_domains is not None:
        return RoutingPolicy(KeywordBaselineRouter(baseline_domains), KeywordBaselineRouter.name, detector,
                             detector_name, default_threshold)
    if router_uri is None:
        return RoutingPolicy(None, None, detector, detector_name, default_threshold)
    from cogumi_workloads.router.loader import load_router

    router = load_router(router_uri, cache_dir=cache_dir)
    if router.escalation is not None:
        detector, detector_name = router.escalation, "router-escalation-student"
    return RoutingPolicy(router, f"router-mlp ({router_uri})", detector, detector_name, default_threshold)
