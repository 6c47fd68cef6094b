"""Fixtures of the compression tests: a tiny random Llama with SmolLM2's tokenizer, and small data.

The model is built here with transformers (hidden size 64, two layers) rather than taken from
``builtin://tiny-llama`` (hidden size 8): W4A16 needs group sizes of at least 16 that divide every
layer's width. Only the tokenizer (which llama.cpp's converter recognises) comes from the
builtin model. A larger initialisation than usual makes the next-token distribution peaked, so
greedy decoding is not decided by float noise between near-equal logits.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HIDDEN, INTERMEDIATE = 64, 128


def ml_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("torch", "transformers", "llmcompressor", "peft"))


def llama_cpp_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


needs_ml = pytest.mark.skipif(not ml_available(), reason="needs the ml extra (torch, transformers, llmcompressor)")
needs_llama_cpp = pytest.mark.skipif(not llama_cpp_available(), reason="needs the compress extra (llama-cpp-python)")


def build_tiny_llama(dest: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from cogumi_workloads.runtime import uris

    tok = AutoTokenizer.from_pretrained(uris.local_path("builtin://tiny-llama"))
    config = LlamaConfig(vocab_size=len(tok), hidden_size=HIDDEN, intermediate_size=INTERMEDIATE, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         tie_word_embeddings=True, initializer_range=0.2, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(dest)
    tok.save_pretrained(dest)
    return dest


def write_data(path: Path, count: int = 48) -> Path:
    """Prompt/answer rows (sums, checkable) and a few plain-text rows."""
    rng = random.Random(0)
    rows: list[dict[str, str]] = []
    for _ in range(count):
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        rows.append({"prompt": f"What is {a} plus {b}?", "answer": str(a + b)})
    rows += [{"text": f"Note {i}: the river {rng.choice(['rises', 'falls'])} after the rain in spring."}
             for i in range(count // 4)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def invoke(stage: str, params: dict[str, Any], out: Path, inputs: dict[str, Any] | None = None,
           timeout: int = 600) -> tuple[int, str, dict[str, Any] | None]:
    """Run ``compressionrun.<stage>`` through the CLI; returns (exit code, stderr, report)."""
    out.mkdir(parents=True, exist_ok=True)
    result = out / f"result-{stage}.json"
    invocation = {"resource": {"kind": "CompressionRun", "name": "tiny", "namespace": "default", "uid": "u-1"},
                  "stage": stage, "attempt": 1, "params": params, "inputs": inputs or {},
                  "output": out.as_uri(), "result": result.as_uri()}
    spec = out / f"invocation-{stage}.json"
    spec.write_text(json.dumps(invocation))
    proc = subprocess.run([sys.executable, "-m", "cogumi_workloads", f"compressionrun.{stage}", "--spec", str(spec)],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    report = json.loads(result.read_text()) if result.exists() else None
    return proc.returncode, proc.stderr, report
