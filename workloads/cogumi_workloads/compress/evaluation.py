"""Measuring any artifact of a CompressionRun alike: token agreement and task-suite accuracy.

HF folders (plain, pruned, W4A16) run in transformers through the task suites' own evaluation
function (:func:`cogumi_workloads.tasks.evaluate.evaluate`); GGUF files run in llama-cpp-python
with the same chat template, greedy decoding and budget, and the same verifiers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cogumi_workloads.compress.models import load_model, load_tokenizer
from cogumi_workloads.compress.scoring import GgufLM, HfLM, Reference, reference, stop_tokens, token_agreement
from cogumi_workloads.compress.texts import Example, chat_prefix, examples, token_ids
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.tasks.stats import wilson

MAX_PROMPT_TOKENS = 768


@dataclass
class SuiteScore:
    domain: str
    n: int
    correct: int
    ci: tuple[float, float]

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


def held_out(original: Path, prompts: int, tokens: int, workdir: Path) -> Reference:
    """The reference continuations of the original model (the export stage's definition)."""
    tok = load_tokenizer(original)
    model = load_model(original)
    ids = [token_ids(tok, chat_prefix(tok, e))[:384] for e in examples(None, "test", prompts, workdir)]
    return reference(HfLM(model, str(original)), ids, tokens, stop_tokens(model))


def agreement(path: Path, ref: Reference) -> float:
    """tokenAgreement of an HF folder or a GGUF file with the reference."""
    if path.is_file():
        longest = max(len(p) + len(c) for p, c in zip(ref.prompts, ref.continuations, strict=True))
        return token_agreement(GgufLM(path, n_ctx=longest + 8), ref).agreement
    return token_agreement(HfLM(load_model(path), str(path)), ref).agreement


def _gguf_suite(path: Path, tokenizer_dir: Path, domain: str, items: int, log: JsonLogger) -> SuiteScore:
    from cogumi_workloads.tasks.registry import get_suite

    suite = get_suite(domain)
    tok = load_tokenizer(tokenizer_dir)
    lm = GgufLM(path, n_ctx=MAX_PROMPT_TOKENS + suite.max_new_tokens + 8)
    stop = stop_tokens(tok)
    correct = 0
    chosen = suite.split("test", items)
    start = time.monotonic()
    for item in chosen:
        ids = token_ids(tok, chat_prefix(tok, Example(item.prompt)))[-MAX_PROMPT_TOKENS:]
        new, _ = lm.greedy(ids, suite.max_new_tokens, stop)
        correct += suite.verify(item, tok.decode(new, skip_special_tokens=True).strip())
    log.info("evaluated GGUF", domain=domain, n=len(chosen), correct=correct, seconds=round(time.monotonic() - start))
    return SuiteScore(domain, len(chosen), correct, wilson(correct, len(chosen)))


def accuracy(path: Path, tokenizer_dir: Path, domains: Sequence[str], items: int, log: JsonLogger) -> list[SuiteScore]:
    """Accuracy on the test split (first ``items``) of each suite."""
    if path.is_file():
        return [_gguf_suite(path, tokenizer_dir, d, items, log) for d in domains]
    from cogumi_workloads.tasks.evaluate import LoadedModel, evaluate

    tok = load_tokenizer(path)
    tok.padding_side = "left"
    model = load_model(path)
    loaded = LoadedModel(model=model, tokenizer=tok, name=str(path), device=str(model.device))
    out = []
    for domain in domains:
        result = evaluate(loaded, domain, limit=items, log=log)
        out.append(SuiteScore(domain, result.n, result.correct, (result.ci_low, result.ci_high)))
    return out
