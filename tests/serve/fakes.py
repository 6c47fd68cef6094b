"""A deterministic backend for engine tests: the text depends on the adapter, the prompt and the seed."""

from __future__ import annotations

from collections.abc import Iterator

from cogumi_workloads.serve.backends.base import GenRequest, Piece, Turn


class FakeBackend:
    kind = "fake"
    context_length = 2048

    def __init__(self, adapters: tuple[str, ...] = ("math", "code"), answers: dict[int, str] | None = None,
                 p_yes: list[float] | None = None) -> None:
        self.adapters = adapters
        self.answers = answers or {}
        """seed → text; seeds not listed answer "The answer is 7"."""
        self.p_yes = list(p_yes or [0.9])
        self.requests: list[GenRequest] = []
        self.critiques: list[tuple[Turn, ...]] = []

    def stream(self, request: GenRequest) -> Iterator[Piece]:
        self.requests.append(request)
        text = self.answers.get(request.seed if request.seed is not None else -1, "The answer is 7")
        words = text.split(" ")
        for i, word in enumerate(words):
            yield Piece(word if i == 0 else " " + word)
        yield Piece("", finish_reason="stop", prompt_tokens=10, completion_tokens=len(words))

    def yes_probability(self, messages: tuple[Turn, ...], adapter: str | None = None) -> float:
        self.critiques.append(messages)
        return self.p_yes.pop(0) if len(self.p_yes) > 1 else self.p_yes[0]

    def close(self) -> None:
        pass
