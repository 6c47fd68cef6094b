"""Held-out prompts and the original model's reference continuations for the token-agreement gate."""

from __future__ import annotations

from pathlib import Path

from cogumi_api.compression import CompressionRunSpec
from cogumi_workloads.compress.models import load_model, load_tokenizer, original_model
from cogumi_workloads.compress.scoring import Agreement, GgufLM, HfLM, Reference, reference, stop_tokens
from cogumi_workloads.compress.scoring import token_agreement as _agreement
from cogumi_workloads.compress.texts import chat_prefix, examples, token_ids
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError

MAX_PROMPT_TOKENS = 384


def held_out_reference(ctx: StageContext[CompressionRunSpec]) -> Reference:
    """Greedy continuations of the original model (``spec.model``) on ``export.agreementPrompts`` prompts.

    The prompts are the test splits of the default task suites (never used for calibration or
    tuning), each cut to its first 384 tokens.
    """
    cfg = ctx.spec.export
    original = original_model(ctx)
    if original.is_file() or ctx.spec.model.format == "gguf":
        raise PermanentError("token agreement compares with the uncompressed original, which must be a Hugging Face "
                             f"folder; spec.model is a GGUF file ({original})")
    tok = load_tokenizer(original)
    model = load_model(original)
    prompts = [token_ids(tok, chat_prefix(tok, e))[:MAX_PROMPT_TOKENS]
               for e in examples(None, "test", cfg.agreement_prompts, ctx.workdir)]
    ctx.log.info("reference continuations", original=str(original), prompts=len(prompts), tokens=cfg.agreement_tokens)
    ref = reference(HfLM(model, str(original)), prompts, cfg.agreement_tokens, stop_tokens(model))
    del model
    return ref


def gguf_agreement(path: Path, ref: Reference) -> Agreement:
    longest = max((len(p) + len(c) for p, c in zip(ref.prompts, ref.continuations, strict=True)), default=16)
    return _agreement(GgufLM(path, n_ctx=max(64, longest + 8)), ref)
