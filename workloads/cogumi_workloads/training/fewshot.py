"""Few-shot template store with dynamic example retrieval by sentence-embedding similarity.

A store folder holds ``examples.jsonl`` (id, domain, prompt, answer), ``embeddings.npy`` (one
L2-normalised MiniLM row per example, same order), ``templates.json`` (per domain: the
instruction line and the example format) and ``store.json`` (embedder, sizes). For a query the
``k`` most similar examples (cosine) are retrieved — from the whole store, so serving needs no
domain label — and rendered with the template of the query's domain (or the default one) into
one prompt: instruction, the solved examples, then the query in the same format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

EXAMPLES = "examples.jsonl"
EMBEDDINGS = "embeddings.npy"
TEMPLATES = "templates.json"
INFO = "store.json"

DEFAULT_TEMPLATE = {
    "instruction": "Solve the last problem. Solved examples come first; answer in the same format.",
    "example": "Problem:\n{prompt}\nAnswer:\n{answer}",
    "query": "Problem:\n{prompt}\nAnswer:",
}
DOMAIN_INSTRUCTIONS = {
    "code": "Write the requested code. Solved examples come first; answer in the same format.",
    "reasoning": "Reason about the last question. Solved examples come first; answer in the same format.",
    "automation": "Turn the last request into a tool call. Solved examples come first; answer in the same format.",
    "math": "Solve the last math problem. Solved examples come first; answer in the same format.",
    "hard-math": "Solve the last math problem. Solved examples come first; answer in the same format.",
    "science": "Answer the last science question. Solved examples come first; answer in the same format.",
    "finance": "Solve the last finance problem. Solved examples come first; answer in the same format.",
    "creative": "Write what the last request asks for. Solved examples come first; follow their format.",
}


@dataclass(frozen=True)
class Shot:
    id: str
    domain: str
    prompt: str
    answer: str


def templates() -> dict[str, dict[str, str]]:
    return {d: {**DEFAULT_TEMPLATE, "instruction": text} for d, text in DOMAIN_INSTRUCTIONS.items()}


def write_store(folder: Path, shots: Sequence[Shot], embeddings: np.ndarray, embedder: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / EXAMPLES, "w", encoding="utf-8") as out:
        for shot in shots:
            out.write(json.dumps(asdict(shot), ensure_ascii=False) + "\n")
    np.save(folder / EMBEDDINGS, embeddings.astype(np.float32))
    (folder / TEMPLATES).write_text(json.dumps({"default": DEFAULT_TEMPLATE, **templates()}, indent=2))
    domains = sorted({s.domain for s in shots})
    (folder / INFO).write_text(json.dumps({"embedder": embedder, "examples": len(shots), "domains": domains,
                                           "dim": int(embeddings.shape[1]) if embeddings.ndim == 2 else 0}))


class Store:
    def __init__(self, folder: Path) -> None:
        self.shots = [Shot(**json.loads(line)) for line in (folder / EXAMPLES).read_text().splitlines() if line]
        self.embeddings = np.load(folder / EMBEDDINGS)
        self.templates: dict[str, dict[str, str]] = json.loads((folder / TEMPLATES).read_text())
        self.info = json.loads((folder / INFO).read_text())

    def retrieve(self, query: np.ndarray, k: int, exclude: str | None = None) -> list[Shot]:
        """The ``k`` shots most similar to the normalised ``query`` embedding (never the shot ``exclude``)."""
        if k <= 0 or not self.shots:
            return []
        scores = self.embeddings @ query.astype(np.float32)
        order = np.argsort(-scores, kind="stable")
        return [self.shots[i] for i in order if self.shots[i].id != exclude][:k]

    def render(self, prompt: str, shots: Sequence[Shot], domain: str | None = None) -> str:
        """The few-shot prompt for ``prompt`` with ``shots`` (plain prompt when there are none)."""
        if not shots:
            return prompt
        template = self.templates.get(domain or "", self.templates["default"])
        blocks = [template["instruction"]]
        blocks += [template["example"].format(prompt=s.prompt, answer=s.answer) for s in shots]
        blocks.append(template["query"].format(prompt=prompt))
        return "\n\n".join(blocks)
