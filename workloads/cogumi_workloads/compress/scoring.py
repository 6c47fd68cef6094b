"""One interface over a transformers model and a GGUF run by llama-cpp-python: logits and greedy decoding.

Both take token ids (from the original model's tokenizer: the converter keeps the vocabulary,
so ids mean the same in both) and return float32 logits, so the comparisons and the confidence
calibration treat every artifact of the run alike.

Token agreement (:func:`token_agreement`), the export gate:

1. each held-out prompt is rendered with the original tokenizer's chat template;
2. the original (uncompressed) model decodes greedily up to ``tokens`` new tokens, stopping after
   its end-of-turn token: the reference continuation r_1..r_n;
3. the candidate reads prompt + r_1..r_{n-1} in one teacher-forced pass; at each position t it
   agrees when its argmax after prompt + r_1..r_{t-1} equals r_t;
4. tokenAgreement = agreeing positions / compared positions, over all prompts together.

Teacher forcing keeps one early divergence from changing everything after it: every position is
judged on the reference's own context. ``promptsAgreeing`` is the fraction of prompts whose
every position agrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from cogumi_workloads.runtime.cpus import cpu_budget

if TYPE_CHECKING:
    from transformers import PreTrainedModel


class LM(Protocol):
    name: str

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        """[len(ids), vocab] logits; row t predicts the token after ids[t]."""

    def greedy(self, ids: Sequence[int], max_new: int, stop: set[int]) -> tuple[list[int], np.ndarray]:
        """Greedy continuation (stop token included when reached) and the logits row of each new token."""


class HfLM:
    def __init__(self, model: PreTrainedModel, name: str) -> None:
        self.model, self.name = model, name

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            tensor = torch.tensor([list(ids)], device=self.model.device)
            out: np.ndarray = self.model(tensor).logits[0].float().cpu().numpy()
        return out

    def greedy(self, ids: Sequence[int], max_new: int, stop: set[int]) -> tuple[list[int], np.ndarray]:
        import torch

        with torch.inference_mode():
            tensor = torch.tensor([list(ids)], device=self.model.device)
            out = self.model.generate(tensor, attention_mask=torch.ones_like(tensor), max_new_tokens=max_new,
                                      do_sample=False, num_beams=1, eos_token_id=sorted(stop) or None,
                                      pad_token_id=next(iter(stop), 0), output_logits=True,
                                      return_dict_in_generate=True)
        new = out.sequences[0, len(ids):].tolist()
        rows = np.stack([step[0].float().cpu().numpy() for step in out.logits])
        return new, rows


class GgufLM:
    """A GGUF in llama-cpp-python with logits kept for every position (exact argmax, no sampler)."""

    def __init__(self, path: Path, n_ctx: int = 2048, threads: int | None = None) -> None:
        from llama_cpp import Llama

        self.name = str(path)
        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_batch=min(512, n_ctx), logits_all=True,
                         n_threads=threads or cpu_budget(), verbose=False, seed=0)

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        self.llm.reset()
        self.llm.eval(list(ids))
        return np.array(self.llm.scores[: len(ids)], dtype=np.float32)

    def greedy(self, ids: Sequence[int], max_new: int, stop: set[int]) -> tuple[list[int], np.ndarray]:
        self.llm.reset()
        self.llm.eval(list(ids))
        new: list[int] = []
        rows: list[np.ndarray] = []
        for _ in range(max_new):
            row = np.array(self.llm.scores[self.llm.n_tokens - 1], dtype=np.float32)
            token = int(row.argmax())
            new.append(token)
            rows.append(row)
            if token in stop or self.llm.n_tokens + 1 >= self.llm.n_ctx():
                break
            self.llm.eval([token])
        return new, np.stack(rows)


def stop_tokens(model_or_tok: Any) -> set[int]:
    """End-of-turn ids: the generation config's eos (one or several), else the tokenizer's eos."""
    config = getattr(model_or_tok, "generation_config", None)
    eos = getattr(config, "eos_token_id", None) if config is not None else None
    if eos is None:
        eos = getattr(model_or_tok, "eos_token_id", None)
    if eos is None:
        return set()
    return {int(e) for e in eos} if isinstance(eos, (list, tuple)) else {int(eos)}


@dataclass
class Agreement:
    agreement: float
    prompts_agreeing: float
    compared: int
    prompts: int

    def metrics(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}tokenAgreement": self.agreement, f"{prefix}promptsAgreeing": self.prompts_agreeing,
                f"{prefix}agreementTokens": float(self.compared)}


@dataclass
class Reference:
    """The original model's greedy continuations of the held-out prompts."""

    prompts: list[list[int]]
    continuations: list[list[int]]


def reference(original: LM, prompts: Sequence[Sequence[int]], tokens: int, stop: set[int]) -> Reference:
    continuations = [original.greedy(p, tokens, stop)[0] for p in prompts]
    return Reference([list(p) for p in prompts], continuations)


def token_agreement(candidate: LM, ref: Reference) -> Agreement:
    """Teacher-forced greedy agreement of ``candidate`` with the reference (see the module doc)."""
    agree = compared = whole = 0
    for prompt, cont in zip(ref.prompts, ref.continuations, strict=True):
        if not cont:
            continue
        ids = prompt + cont[:-1]
        predicted = candidate.logits(ids)[len(prompt) - 1:].argmax(axis=-1)
        hits = int((predicted == np.array(cont)).sum())
        agree += hits
        compared += len(cont)
        whole += hits == len(cont)
    prompts = sum(1 for c in ref.continuations if c)
    return Agreement(agree / compared if compared else 0.0, whole / prompts if prompts else 0.0, compared, prompts)
