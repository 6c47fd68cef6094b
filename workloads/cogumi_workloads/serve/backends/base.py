"""What every backend offers: streamed generation with an optional LoRA adapter, and the
probability that the model answers "Yes" (the self-critique classifier)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Turn:
    role: Role
    content: str


@dataclass(frozen=True)
class GenRequest:
    """One generation. Exactly one of ``messages`` (chat, formatted with the model's template)
    or ``prompt`` (raw completion) is set."""

    messages: tuple[Turn, ...] | None = None
    prompt: str | None = None
    adapter: str | None = None
    """Name of a loaded adapter (the modifier's domain); None for the base model."""
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass
class Piece:
    """A streamed text delta; the last piece of a generation carries ``finish_reason`` and counts."""

    text: str
    finish_reason: Literal["stop", "length"] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Generation:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


class Backend(Protocol):
    kind: str
    adapters: tuple[str, ...]
    context_length: int

    def stream(self, request: GenRequest) -> Iterator[Piece]:
        """Yield text deltas; the caller holds no lock, the backend serialises generations itself."""
        ...

    def yes_probability(self, messages: tuple[Turn, ...], adapter: str | None = None) -> float:
        """P("Yes") / (P("Yes") + P("No")) for the assistant's first token after ``messages``."""
        ...

    def close(self) -> None: ...


def cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    """``text`` cut before the first stop sequence, and whether one was found."""
    positions = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    if not positions:
        return text, False
    return text[:min(positions)], True


def held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters of ``text`` could be the start of a stop sequence (not yet safe to emit)."""
    best = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:k]):
                best = max(best, k)
                break
    return best


def collect(pieces: Iterator[Piece]) -> Generation:
    """Drain a stream into one :class:`Generation`."""
    import time

    start = time.perf_counter()
    parts: list[str] = []
    last = Piece("")
    for piece in pieces:
        parts.append(piece.text)
        last = piece
    return Generation(text="".join(parts), finish_reason=last.finish_reason or "stop",
                      prompt_tokens=last.prompt_tokens, completion_tokens=last.completion_tokens,
                      seconds=time.perf_counter() - start)
