"""``evaluation.speed``: generation speed of the evaluated model through the same path as the suites.

The same target as ``evaluation.suites`` (:func:`evaluated`): transformers ``generate`` for an HF
folder, llama-cpp-python for a GGUF file (both through the server's own backends), or the
deployment's ``/v1/chat/completions``. One warm-up request, then each of the fixed prompts of the
serving benchmark (:data:`cogumi_workloads.serve.bench.PROMPTS`) once, one request at a time,
greedy, up to ``speed.maxNewTokens`` tokens. tokens/s = completion tokens / wall seconds of those
requests (for a deployment: end to end, HTTP and prompt evaluation included).

Metrics: ``tokensPerSecond``, ``completionTokens``, ``seconds``, ``requests``, ``maxNewTokens``; with
``speed.minTokensPerSecond`` also ``threshold`` and ``passed`` (1/0) — the kind's default gate is
``speed.tokensPerSecond >= minTokensPerSecond``. Artifact ``speed`` (``speed.json``, every request).
"""

from __future__ import annotations

from cogumi_api.evaluation import EvaluationSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import quiet_library_progress
from cogumi_workloads.serve.bench import PROMPTS
from cogumi_workloads.stages.evaluation_suites import evaluated
from cogumi_workloads.tasks.targets import answerer
from cogumi_workloads.training.files import write_json

OUTPUT = "speed.json"


def run(ctx: StageContext[EvaluationSpec]) -> None:
    cfg = ctx.spec.speed
    quiet_library_progress()
    target = evaluated(ctx)
    model = answerer(target)
    try:
        model.answer(PROMPTS[0], min(8, cfg.max_new_tokens))  # warm-up: first-call costs are not speed
        replies = [model.answer(prompt, cfg.max_new_tokens) for prompt in ctx.progress(PROMPTS, "speed")]
    finally:
        model.close()
    if any(r.completion_tokens is None for r in replies):
        raise PermanentError(f"{target.field}: {target.name} reports no usage.completion_tokens in its chat "
                             "completions, so tokens/s cannot be measured; disable spec.speed for it")
    tokens = sum(r.completion_tokens or 0 for r in replies)
    seconds = sum(r.seconds for r in replies)
    if tokens == 0 or seconds <= 0:
        raise PermanentError(f"{target.field}: {target.name} generated no tokens for the speed prompts")
    rate = tokens / seconds
    ctx.metrics.update({"tokensPerSecond": rate, "completionTokens": float(tokens), "seconds": seconds,
                        "requests": float(len(replies)), "maxNewTokens": float(cfg.max_new_tokens)})
    verdict = ""
    if cfg.min_tokens_per_second is not None:
        ok = rate >= cfg.min_tokens_per_second
        ctx.metrics.update({"threshold": cfg.min_tokens_per_second, "passed": 1.0 if ok else 0.0})
        verdict = f" ({'PASS' if ok else 'FAIL'}: minimum {cfg.min_tokens_per_second:g})"
    write_json(ctx.output_path(OUTPUT), {
        "target": target.name, "kind": target.kind, "maxNewTokens": cfg.max_new_tokens, "tokensPerSecond": rate,
        "requests": [{"prompt": p, "completionTokens": r.completion_tokens, "seconds": r.seconds}
                     for p, r in zip(PROMPTS, replies, strict=True)]})
    ctx.message = f"{rate:.1f} tokens/s on {target.name} ({tokens} tokens in {seconds:.2f} s){verdict}"
    ctx.publish("speed", OUTPUT)
