"""Answering a request: model selection, routing, memory, fast/accurate modes, escalation.

Independent of HTTP: the OpenAI routes, the KServe model and the UI all call :class:`Engine`.
Every method blocks (generation is CPU/GPU work); callers run them in a worker thread.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from cogumi_workloads.serve import metrics
from cogumi_workloads.serve.answers import majority
from cogumi_workloads.serve.backends.base import Backend, Generation, GenRequest, Piece, Turn, collect
from cogumi_workloads.serve.errors import InvalidRequest, ModelNotFound
from cogumi_workloads.serve.escalate import EscalationTarget
from cogumi_workloads.serve.memory import SessionMemory
from cogumi_workloads.serve.routing import RouteDecision, RoutingPolicy
from cogumi_workloads.serve.settings import ServerSettings

CRITIQUE_SYSTEM = "You are a strict grader. You answer only Yes or No."
CRITIQUE_USER = ("Question:\n{question}\n\nProposed answer:\n{answer}\n\n"
                 "Is the proposed answer correct and does it answer the question? Reply Yes or No.")


@dataclass
class Plan:
    """A validated request, ready to run."""

    model: str
    request: GenRequest
    decision: RouteDecision
    mode: str
    n: int
    query: str
    session: str | None
    memory_turns: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def escalated(self) -> bool:
        return bool(self.decision.escalate_reasons)


@dataclass
class Answer:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    meta: dict[str, Any] = field(default_factory=dict)


class Engine:
    def __init__(self, settings: ServerSettings, backend: Backend, policy: RoutingPolicy,
                 memory: SessionMemory | None, target: EscalationTarget | None = None) -> None:
        self.settings, self.backend, self.policy, self.memory, self.target = settings, backend, policy, memory, target

    # ------------------------------------------------------------------ names and selection

    def model_names(self) -> list[str]:
        name = self.settings.name
        return [name, f"{name}:base", *(f"{name}:{d}" for d in self.backend.adapters)]

    def select(self, model: str, text: str) -> RouteDecision:
        name = self.settings.name
        if model == name:
            return self.policy.route(text, self.backend.adapters)
        prefix, _, suffix = model.partition(":")
        if prefix == name and suffix == "base":
            return RouteDecision(None, "base")
        if prefix == name and suffix in self.backend.adapters:
            return RouteDecision(suffix, "explicit", domain=suffix)
        raise ModelNotFound(f"The model '{model}' does not exist. Available: {', '.join(self.model_names())}",
                            param="model")

    # ------------------------------------------------------------------ planning

    def plan(self, *, model: str, messages: list[Turn] | None, prompt: str | None, max_tokens: int | None,
             temperature: float | None, top_p: float | None, n: int, stop: tuple[str, ...], seed: int | None,
             mode: str | None, session: str | None) -> Plan:
        s = self.settings
        if mode not in (None, "fast", "accurate"):
            raise InvalidRequest(f"mode must be 'fast' or 'accurate' (got {mode!r})", param="mode")
        if n > s.max_n:
            raise InvalidRequest(f"n must be at most {s.max_n} on this server (got {n})", param="n")
        limit = max_tokens if max_tokens is not None else s.default_max_tokens
        if limit > s.max_tokens_limit:
            raise InvalidRequest(f"max_tokens must be at most {s.max_tokens_limit} (got {limit})", param="max_tokens")
        query = next((t.content for t in reversed(messages) if t.role == "user"), "") if messages else (prompt or "")
        decision = self.select(model, query)
        history = self.memory.recall(session) if (self.memory is not None and session) else []
        earlier = [t.content for t in (messages or []) if t.role == "user"][:-1]
        previous = earlier[-1] if earlier else (history[-1].query if history else None)
        self.policy.check_session(decision, query, previous)
        temp = s.default_temperature if temperature is None else temperature
        request = GenRequest(max_tokens=limit, temperature=temp, top_p=1.0 if top_p is None else top_p, seed=seed,
                             stop=stop, adapter=decision.modifier)
        if messages is not None:
            remembered: list[Turn] = []
            for ex in history:
                remembered += [Turn("user", ex.query), Turn("assistant", ex.answer)]
            lead = 0
            while lead < len(messages) and messages[lead].role == "system":
                lead += 1
            request = replace(request, messages=tuple(messages[:lead] + remembered + messages[lead:]))
        else:
            context = "".join(f"Q: {ex.query}\nA: {ex.answer}\n\n" for ex in history)
            request = replace(request, prompt=context + (prompt or ""))
        plan = Plan(model, request, decision, mode or s.spec.mode, n, query, session, len(history))
        metrics.ROUTES.labels(metrics.label(decision.modifier), decision.source).inc()
        if decision.confidence is not None:
            metrics.ROUTER_CONFIDENCE.observe(decision.confidence)
        metrics.MEMORY_TURNS.observe(len(history))
        for reason in decision.escalate_reasons:
            metrics.ESCALATIONS.labels("router-confidence" if reason.startswith("router") else "dissatisfaction").inc()
        return plan

    def metadata(self, plan: Plan) -> dict[str, Any]:
        d = plan.decision
        meta: dict[str, Any] = {
            "mode": plan.mode, "modifier": d.modifier, "route": {
                "source": d.source, "domain": d.domain, "confidence": d.confidence, "threshold": d.threshold,
                "router": d.router, "dissatisfaction": d.dissatisfaction},
            "session": plan.session, "memory_turns": plan.memory_turns,
            "escalation": {"escalated": plan.escalated(), "reasons": list(d.escalate_reasons),
                           "target": self.target.url if self.target else None},
        }
        if plan.escalated() and self.target is None:
            meta["escalation"]["note"] = "no escalation target is configured; answered by this deployment"
        meta.update(plan.meta)
        return meta

    # ------------------------------------------------------------------ running

    def _measure(self, request: GenRequest) -> Generation:
        gen = collect(self.backend.stream(request))
        self._record(request.adapter, gen.prompt_tokens, gen.completion_tokens, gen.seconds)
        return gen

    @staticmethod
    def _record(adapter: str | None, prompt_tokens: int, completion_tokens: int, seconds: float) -> None:
        modifier = metrics.label(adapter)
        metrics.GENERATED_TOKENS.labels(modifier).inc(completion_tokens)
        metrics.PROMPT_TOKENS.labels(modifier).inc(prompt_tokens)
        metrics.GENERATION_SECONDS.labels(modifier).inc(seconds)
        if seconds > 0 and completion_tokens:
            metrics.TOKENS_PER_SECOND.labels(modifier).observe(completion_tokens / seconds)

    def _escalate(self, plan: Plan) -> Answer | None:
        if not (plan.escalated() and self.target is not None):
            return None
        answer = self.target.ask(plan.request, plan.meta)
        return answer

    def _accurate(self, plan: Plan, seed: int) -> Answer:
        sc = self.settings.spec.self_consistency
        base = replace(plan.request, temperature=sc.temperature)
        tried: list[tuple[float | None, Generation, dict[str, Any]]] = []
        spent = 0
        for attempt in range(2 if self.settings.spec.self_critique else 1):
            samples = [self._measure(replace(base, seed=seed + attempt * sc.samples + i)) for i in range(sc.samples)]
            spent += sum(g.completion_tokens for g in samples)
            vote = majority([g.text for g in samples])
            for count in vote.counts.values():
                metrics.VOTES.labels("true" if count == vote.counts[vote.winner] else "false").inc(count)
            metrics.VOTE_AGREEMENT.observe(vote.agreement)
            info: dict[str, Any] = {"attempt": attempt + 1, "samples": sc.samples, "temperature": sc.temperature,
                                    "votes": vote.counts, "winner": vote.winner, "agreement": vote.agreement}
            score: float | None = None
            if self.settings.spec.self_critique:
                critique = (Turn("system", CRITIQUE_SYSTEM),
                            Turn("user", CRITIQUE_USER.format(question=plan.query, answer=samples[vote.index].text)))
                score = self.backend.yes_probability(critique, plan.request.adapter)
                accepted = score >= self.settings.critique_threshold
                metrics.CRITIQUES.labels("accept" if accepted else "reject").inc()
                info["critique"] = {"p_yes": score, "accepted": accepted, "threshold": self.settings.critique_threshold}
            tried.append((score, samples[vote.index], info))
            if score is None or info["critique"]["accepted"]:
                break
        best = max(tried, key=lambda t: -1.0 if t[0] is None else t[0])
        gen = best[1]
        meta = {"self_consistency": {"attempts": [t[2] for t in tried], "chosen_attempt": best[2]["attempt"],
                                     "completion_tokens_spent": spent}}
        return Answer(gen.text, gen.finish_reason, gen.prompt_tokens, gen.completion_tokens, meta)

    def answer(self, plan: Plan) -> list[Answer]:
        """All ``n`` choices of a request (non-streaming)."""
        forwarded = self._escalate(plan)
        if forwarded is not None:
            answers = [forwarded]
        else:
            seed = plan.request.seed if plan.request.seed is not None else random.randrange(1 << 30)
            answers = []
            for i in range(plan.n):
                if plan.mode == "accurate":
                    answers.append(self._accurate(plan, seed + 1000 * i))
                else:
                    fixed = plan.request.seed is not None or plan.n > 1
                    request = replace(plan.request, seed=seed + i if fixed else None)
                    gen = self._measure(request)
                    answers.append(Answer(gen.text, gen.finish_reason, gen.prompt_tokens, gen.completion_tokens))
        self.remember(plan, answers[0].text)
        return answers

    def stream(self, plan: Plan) -> Iterator[Piece]:
        """One choice, streamed: live tokens in fast mode; the voted answer at once in accurate mode."""
        if plan.mode == "accurate" or (plan.escalated() and self.target is not None):
            answer = self.answer(replace(plan, n=1))[0]
            plan.meta.update(answer.meta)
            yield Piece(answer.text)
            yield Piece("", answer.finish_reason, answer.prompt_tokens, answer.completion_tokens)  # type: ignore[arg-type]
            return
        start = time.perf_counter()
        parts: list[str] = []
        for piece in self.backend.stream(plan.request):
            parts.append(piece.text)
            if piece.finish_reason is not None:
                self._record(plan.request.adapter, piece.prompt_tokens, piece.completion_tokens,
                             time.perf_counter() - start)
                self.remember(plan, "".join(parts))
            yield piece

    def remember(self, plan: Plan, text: str) -> None:
        if self.memory is not None and plan.session:
            self.memory.remember(plan.session, plan.query, text, plan.decision.modifier)
