"""``compressionrun.calibrate``: temperature + Platt scaling of answer confidence, ECE before and after.

Model: the artifact that is served — input ``gguf`` (run by llama-cpp-python) when present, else
input ``model``, else ``spec.model.uri`` (run by transformers). Token ids come from the tokenizer
of the last HF folder of the run (input ``model``, else ``spec.model``).

Data: ``calibrate.samples`` examples with checkable answers from ``calibrate.data`` (default:
the task suites' validation splits — never used for calibration or tuning of the weights).
Each prompt is answered greedily (up to the suite's answer budget, at most 256 tokens, else 64);
the domain's verifier (or a normalised match for plain prompt/answer rows) says whether it is
right, and the answer's confidence is computed from the logits that chose its tokens. Examples
with even index fit the temperature and then Platt's (a, b); those with odd index are held out
and give the ECE (``calibrate.bins`` equal-width bins). Definitions and the loader for the
router and server: :mod:`cogumi_workloads.compress.calibration`.

Output: artifact ``calibration`` (``calibration.json``). Metrics: ``eceBefore``,
``eceTemperature``, ``eceAfter`` (the gate), ``temperature``, ``plattA``, ``plattB``,
``accuracy``, ``samples``, ``seconds``, ``peakRssBytes``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cogumi_api.compression import CompressionRunSpec
from cogumi_workloads.compress.calibration import fit, token_stats
from cogumi_workloads.compress.models import load_model, load_tokenizer, measure, original_model, require_ml
from cogumi_workloads.compress.scoring import LM, GgufLM, HfLM, stop_tokens
from cogumi_workloads.compress.texts import Example, chat_prefix, examples, token_ids
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.uris import atomic_write_text

OUTPUT = "calibration.json"
MAX_ANSWER_TOKENS, DEFAULT_ANSWER_TOKENS, MAX_PROMPT_TOKENS = 256, 64, 768


def scorer(ctx: StageContext[CompressionRunSpec]) -> tuple[str, LM, Path]:
    """(what, model, HF folder whose tokenizer gives the ids) of the artifact to calibrate."""
    hf = ctx.inputs.get("model") or original_model(ctx)
    if not (hf / "config.json").is_file():
        raise PermanentError("calibrate needs a Hugging Face folder for the tokenizer (input 'model' or spec.model)")
    if "gguf" in ctx.inputs:
        return "input artifact 'gguf'", GgufLM(ctx.inputs["gguf"], n_ctx=MAX_PROMPT_TOKENS + MAX_ANSWER_TOKENS + 8), hf
    what = "input artifact 'model'" if "model" in ctx.inputs else f"spec.model.uri {ctx.spec.model.uri}"
    return what, HfLM(load_model(hf), str(hf)), hf


def budget(example: Example) -> int:
    if example.item is None:
        return DEFAULT_ANSWER_TOKENS
    from cogumi_workloads.tasks.registry import get_suite

    return min(MAX_ANSWER_TOKENS, get_suite(example.item.domain).max_new_tokens)


def run(ctx: StageContext[CompressionRunSpec]) -> None:
    require_ml(ctx.stage_id, *(("llama_cpp",) if "gguf" in ctx.inputs else ()))
    cfg = ctx.spec.calibrate
    with measure() as usage:
        what, lm, hf = scorer(ctx)
        tok = load_tokenizer(hf)
        stop = stop_tokens(getattr(lm, "model", None) or tok) or stop_tokens(tok)
        data = [e for e in examples(cfg.data, "validation", cfg.samples, ctx.workdir) if e.answer is not None]
        if len(data) < 4:
            raise PermanentError(f"calibrate needs at least 4 examples with answers; found {len(data)}")
        ctx.log.info("answering", model=what, examples=len(data))
        stats, correct = [], []
        for example in ctx.progress(data, "calibrate"):
            ids = token_ids(tok, chat_prefix(tok, example))[-MAX_PROMPT_TOKENS:]
            new, rows = lm.greedy(ids, budget(example), stop)
            completion = tok.decode(new, skip_special_tokens=True).strip()
            correct.append(1.0 if example.correct(completion) else 0.0)
            stats.append(token_stats(rows, new))
        result = fit(np.stack(stats), np.array(correct), cfg.bins)
    result.model = {"artifact": what}
    atomic_write_text(ctx.output_path(OUTPUT), result.to_json())
    ctx.log.info("calibrated", temperature=result.temperature, plattA=result.platt_a, plattB=result.platt_b,
                 ece=result.ece, accuracy=result.accuracy)
    ctx.metrics.update({"eceBefore": result.ece["before"], "eceTemperature": result.ece["temperature"],
                        "eceAfter": result.ece["after"], "temperature": result.temperature,
                        "plattA": result.platt_a, "plattB": result.platt_b, "accuracy": result.accuracy,
                        "samples": float(len(correct)), **usage.metrics()})
    ctx.publish("calibration", OUTPUT)
