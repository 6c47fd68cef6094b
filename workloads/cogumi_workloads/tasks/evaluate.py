"""The one evaluation function: batch generate with an HF causal LM → verify → accuracy ± Wilson 95 %.

Any Hugging Face causal LM folder works, given as a path or URI (``file://``, ``pvc://``,
``s3://``, ``builtin://``). Each prompt is sent as one user message through the tokenizer's chat
template (the raw prompt when the tokenizer has none); decoding is greedy; prompts are batched
longest first with left padding; only the new tokens are decoded (special tokens dropped) and
handed to the domain's verifier. A row stops at EOS, at the token budget, or once the suite says
more text cannot change its verdict (:meth:`Suite.settled`). On a GPU the model runs in bfloat16
(float16 where bfloat16 is not supported), on a CPU in float32.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger, progress
from cogumi_workloads.tasks.base import SplitName, Suite, TaskItem
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.tasks.stats import wilson

DEFAULT_BATCH_SIZE = 8


class ItemOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    correct: bool
    completion: str


class EvalResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str
    split: str
    model: str
    n: int = Field(ge=0)
    correct: int = Field(ge=0)
    accuracy: float = Field(ge=0, le=1)
    ci_low: float = Field(ge=0, le=1)
    ci_high: float = Field(ge=0, le=1)
    """Wilson 95 % interval of the accuracy."""
    seconds: float = Field(ge=0)
    batch_size: int
    max_new_tokens: int
    items: list[ItemOutcome] = Field(default_factory=list)


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    name: str
    device: str


def local_model_path(uri: str) -> Path:
    """A local folder for ``uri``: a plain path, or any URI the runtime resolves (remote ones are cached)."""
    if "://" not in uri:
        path = Path(uri).expanduser()
    elif uris.is_remote(uri):
        from cogumi_workloads.assets.store import cache_root

        cache = cache_root() / "fetched" / hashlib.sha256(uri.encode()).hexdigest()[:16]
        cache.mkdir(parents=True, exist_ok=True)
        path = uris.fetch(uri, cache)
    else:
        path = uris.local_path(uri)
    if not (path / "config.json").is_file():
        raise PermanentError(f"model {uri!r} is not a Hugging Face model folder ({path} has no config.json)")
    return path


def dense_kwargs(path: Path) -> dict[str, Any]:
    """``from_pretrained`` arguments that load a compressed-tensors folder (AWQ W4A16, pruned) with dense weights.

    Decompressed once at load, the Linear layers are plain again: peft can attach adapters to them (a
    compressed module has no ``weight``) and generation does not unpack 4-bit weights at every step.
    Empty for a plain folder or a GGUF file.
    """
    config = path / "config.json"
    if not config.is_file():
        return {}
    quant = json.loads(config.read_text()).get("quantization_config")
    if not isinstance(quant, dict) or quant.get("quant_method") != "compressed-tensors":
        return {}
    from transformers import CompressedTensorsConfig

    return {"quantization_config": CompressedTensorsConfig(dequantize=True)}


def load_model(uri: str | Path, log: JsonLogger | None = None) -> LoadedModel:
    """Load the causal LM and its tokenizer from a folder path or URI."""
    from cogumi_workloads.assets.models import require

    require("evaluating a model", "torch", "transformers")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = local_model_path(str(uri))
    if torch.cuda.is_available():
        device, dtype = "cuda", torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        device, dtype = "cpu", torch.float32
    start = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **dense_kwargs(path)).to(device)
    model.eval()
    if log is not None:
        log.info("model loaded", model=str(uri), path=str(path), device=device, dtype=str(dtype),
                 parameters=sum(p.numel() for p in model.parameters()), seconds=round(time.monotonic() - start, 1))
    return LoadedModel(model=model, tokenizer=tokenizer, name=str(uri), device=device)


def chat_text(tokenizer: Any, prompt: str) -> str:
    if tokenizer.chat_template:
        text: str = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                  add_generation_prompt=True)
        return text
    return prompt


def _stop_when(tokenizer: Any, prompt_tokens: int, settled: Callable[[str], bool]) -> Any:
    """A stopping criterion that ends a row once ``settled(its text so far)`` holds."""
    import torch
    from transformers import StoppingCriteria

    class Settled(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            texts = tokenizer.batch_decode(input_ids[:, prompt_tokens:], skip_special_tokens=True)
            return torch.tensor([settled(t) for t in texts], dtype=torch.bool, device=input_ids.device)

    return Settled()


def generate(lm: LoadedModel, prompts: Sequence[str], *, batch_size: int = DEFAULT_BATCH_SIZE,
             max_new_tokens: int = 128, log: JsonLogger | None = None, desc: str = "generating",
             settled: Callable[[str], bool] | None = None) -> list[str]:
    """Greedy completions of ``prompts`` (same order), decoded without special tokens.

    ``settled``: a row stops early once it returns true for the row's text so far.
    """
    import torch
    from transformers import GenerationConfig, StoppingCriteriaList

    tok = lm.tokenizer
    templated = bool(tok.chat_template)
    texts = [chat_text(tok, p) for p in prompts]
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    eos = lm.model.generation_config.eos_token_id
    config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                              pad_token_id=tok.pad_token_id, eos_token_id=eos if eos is not None else tok.eos_token_id)
    outputs = [""] * len(texts)
    for batch in progress(batches, log or JsonLogger("evaluate"), desc, total=len(batches)):
        enc = tok([texts[i] for i in batch], return_tensors="pt", padding=True,
                  add_special_tokens=not templated).to(lm.device)
        stops = StoppingCriteriaList([_stop_when(tok, enc["input_ids"].shape[1], settled)] if settled else [])
        with torch.inference_mode():
            out = lm.model.generate(**enc, generation_config=config, stopping_criteria=stops)
        decoded = tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        for index, text in zip(batch, decoded, strict=True):
            outputs[index] = text.strip()
    return outputs


def evaluate(model: str | Path | LoadedModel, suite: str | Suite, *, split: SplitName = "test",
             limit: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE, max_new_tokens: int | None = None,
             log: JsonLogger | None = None, items: Sequence[TaskItem] | None = None) -> EvalResult:
    """Accuracy of ``model`` on ``suite``'s ``split`` (or on ``items``), with its Wilson 95 % interval."""
    log = log or JsonLogger("evaluate")
    suite = get_suite(suite) if isinstance(suite, str) else suite
    lm = model if isinstance(model, LoadedModel) else load_model(model, log)
    chosen = list(items) if items is not None else suite.split(split, limit)
    budget = max_new_tokens or suite.max_new_tokens
    start = time.monotonic()
    completions = generate(lm, [item.prompt for item in chosen], batch_size=batch_size, max_new_tokens=budget,
                           log=log, desc=f"{suite.domain} ({len(chosen)} items)", settled=suite.settled)
    outcomes = [ItemOutcome(id=item.id, correct=suite.verify(item, text), completion=text)
                for item, text in zip(chosen, completions, strict=True)]
    return summarise(outcomes, domain=suite.domain, split=split, model=lm.name, seconds=time.monotonic() - start,
                     batch_size=batch_size, max_new_tokens=budget, log=log)


def summarise(outcomes: list[ItemOutcome], *, domain: str, split: str, model: str, seconds: float,
              batch_size: int, max_new_tokens: int, log: JsonLogger | None = None) -> EvalResult:
    """Accuracy and Wilson 95 % interval of verified outcomes, however they were generated (also llama.cpp,
    a server's API or lm-eval's harness)."""
    correct = sum(o.correct for o in outcomes)
    n = len(outcomes)
    low, high = wilson(correct, n)
    result = EvalResult(domain=domain, split=split, model=model, n=n, correct=correct,
                        accuracy=correct / n if n else 0.0, ci_low=low, ci_high=high, seconds=round(seconds, 2),
                        batch_size=batch_size, max_new_tokens=max_new_tokens, items=outcomes)
    (log or JsonLogger("evaluate")).info(
        "evaluated", domain=domain, split=split, model=model, n=n, correct=correct,
        accuracy=round(result.accuracy, 4), ci95=[round(low, 4), round(high, 4)], seconds=result.seconds)
    return result
