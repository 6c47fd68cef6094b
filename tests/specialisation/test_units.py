"""The specialisation helpers in-process: adapter compression, clustering, few-shot retrieval,
reference verification, teacher key names and budgets (no model generation here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from cogumi_api.common import Teacher
from cogumi_workloads.tasks.base import TaskItem
from cogumi_workloads.training import adapters
from cogumi_workloads.training.clustering import cluster, term_labels
from cogumi_workloads.training.data import ReferenceSuite, item_from_row
from cogumi_workloads.training.fewshot import Shot, Store, write_store
from cogumi_workloads.training.sft import LossCurve, sample_batches
from cogumi_workloads.training.teachers import TeacherClient, api_key_env


def _adapter(folder: Path, rank: int = 8, alpha: int = 16, modules: int = 3, width: int = 32,
             height: int = 24) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    state = {}
    for i in range(modules):
        base = f"base_model.model.model.layers.{i}.self_attn.q_proj"
        state[f"{base}.lora_A.weight"] = torch.randn(rank, width, generator=gen)
        state[f"{base}.lora_B.weight"] = torch.randn(height, rank, generator=gen)
    folder.mkdir(parents=True)
    save_file(state, str(folder / adapters.WEIGHTS))
    (folder / adapters.CONFIG).write_text(json.dumps({"r": rank, "lora_alpha": alpha, "peft_type": "LORA"}))
    return state


def _delta(state: dict[str, torch.Tensor], config: dict, key_a: str) -> torch.Tensor:
    key_b = key_a.replace("lora_A", "lora_B")
    return config["lora_alpha"] / config["r"] * state[key_b].double() @ state[key_a].double()


def test_svd_at_full_rank_is_exact_and_truncation_is_the_best_low_rank_update(tmp_path: Path) -> None:
    src = tmp_path / "a"
    original = _adapter(src)
    config = json.loads((src / adapters.CONFIG).read_text())
    assert adapters.svd_reduce(src, tmp_path / "full", 8) == (8, 8)
    full, full_cfg = load_file(str(tmp_path / "full" / adapters.WEIGHTS)), json.loads((tmp_path / "full" /
                                                                                       adapters.CONFIG).read_text())
    key = next(k for k in original if "lora_A" in k)
    assert torch.allclose(_delta(original, config, key), _delta(full, full_cfg, key), atol=1e-4)

    assert adapters.compress(src, tmp_path / "half", "svd", None) == {"rankBefore": 8.0, "rankAfter": 4.0}
    half = load_file(str(tmp_path / "half" / adapters.WEIGHTS))
    half_cfg = json.loads((tmp_path / "half" / adapters.CONFIG).read_text())
    assert half_cfg["r"] == 4 and half_cfg["lora_alpha"] == pytest.approx(8.0)  # alpha/r kept at 2
    assert half[key].shape == (4, 32)
    exact = _delta(original, config, key)
    s = torch.linalg.svdvals(exact)
    err = torch.linalg.matrix_norm(exact - _delta(half, half_cfg, key))  # Eckart–Young: the tail's energy
    assert err == pytest.approx(float(s[4:].square().sum().sqrt()), rel=1e-4)
    assert adapters.folder_bytes(tmp_path / "half") < adapters.folder_bytes(src)


def test_svd_pads_modules_narrower_than_the_target_rank(tmp_path: Path) -> None:
    src = tmp_path / "a"
    state = _adapter(src, rank=64)  # B is 24×64: at most 24 singular values
    adapters.svd_reduce(src, tmp_path / "b", 32)
    out = load_file(str(tmp_path / "b" / adapters.WEIGHTS))
    key = next(k for k in state if "lora_A" in k)
    assert out[key].shape == (32, 32) and out[key.replace("lora_A", "lora_B")].shape == (24, 32)


def test_int8_is_four_times_smaller_and_dequantises_closely(tmp_path: Path) -> None:
    src = tmp_path / "a"
    original = _adapter(src, rank=16, width=256, height=256)
    adapters.compress(src, tmp_path / "q", "int8", None)
    assert not (tmp_path / "q" / adapters.WEIGHTS).exists()
    weights = (tmp_path / "q" / adapters.INT8_WEIGHTS).stat().st_size
    assert weights < 0.35 * (src / adapters.WEIGHTS).stat().st_size
    back = load_file(str(adapters.materialise(tmp_path / "q", tmp_path / "deq") / adapters.WEIGHTS))
    for key, value in original.items():
        assert back[key].dtype == value.dtype
        assert float((back[key] - value).abs().max()) <= float(value.abs().max()) / 127 + 1e-6
    assert adapters.materialise(src, tmp_path / "unused") == src


def test_kmeans_finds_three_separated_groups_by_silhouette() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3] * 5
    x = np.concatenate([c + rng.normal(0, 0.1, (10, 8)) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    result = cluster(x, None, 2, 6)
    assert result.k == 3 and result.silhouette is not None and result.silhouette > 0.8
    assert set(result.scores) == {2, 3, 4, 5, 6}
    assert len(set(result.labels[:10])) == 1 and len(set(result.labels)) == 3
    assert cluster(x, 4, 2, 6).k == 4
    assert cluster(x[:2], None, 2, 6).k == 1 and cluster(x[:0], None, 2, 6).k == 0


def test_term_labels_name_what_is_characteristic() -> None:
    texts = ["compound interest on a deposit", "interest rate deposit years", "weather in Lisbon today",
             "weather forecast Tokyo"]
    labels = term_labels(texts, [0, 0, 1, 1], 2, terms=2)
    assert set(labels[0].split(", ")) <= {"deposit", "interest", "compound", "rate", "years"}
    assert "weather" in labels[1]


def test_few_shot_store_retrieves_the_nearest_and_renders_the_template(tmp_path: Path) -> None:
    shots = [Shot(f"s{i}", "math" if i < 2 else "automation", f"p{i}", f"a{i}") for i in range(4)]
    vectors = np.eye(4, dtype=np.float32)
    write_store(tmp_path / "store", shots, vectors, "builtin://minilm-l6-v2")
    store = Store(tmp_path / "store")
    query = np.array([0.1, 0.9, 0.3, 0.0], dtype=np.float32)
    assert [s.id for s in store.retrieve(query, 2)] == ["s1", "s2"]
    assert [s.id for s in store.retrieve(query, 2, exclude="s1")] == ["s2", "s0"]
    prompt = store.render("What is 2+2?", store.retrieve(query, 1), "math")
    assert prompt.startswith("Solve the last math problem") and "p1\nAnswer:\na1" in prompt
    assert prompt.endswith("Problem:\nWhat is 2+2?\nAnswer:")
    assert store.render("q", [], "math") == "q"


@pytest.mark.parametrize(("answer", "reply", "ok"), [
    ("42", "The result is 42.", True),
    ("42", "Answer: 41", False),
    ("1,250.50", "Answer: $1,250.50", True),
    ('{"name": "set_timer", "arguments": {"minutes": 5}}', 'Call: {"arguments": {"minutes": 5}, "name": "set_timer"}',
     True),
    ('{"name": "set_timer", "arguments": {"minutes": 5}}', '{"name": "set_timer", "arguments": {"minutes": 6}}', False),
    ("Paris", "I think...\nAnswer: paris", True),
    ("Paris", "Answer: Lyon", False),
])
def test_reference_suite_is_exact(answer: str, reply: str, ok: bool) -> None:
    item = item_from_row({"prompt": "q", "answer": answer}, 0, "test")
    assert isinstance(item, TaskItem)
    assert ReferenceSuite().verify(item, reply) is ok


def test_teacher_key_env_names_and_missing_key_is_a_clear_permanent_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from cogumi_workloads.runtime.errors import PermanentError

    assert api_key_env("tier2-large") == "COGUMI_TEACHER_TIER2_LARGE_API_KEY"
    teacher = Teacher.model_validate({"name": "tier2", "url": "http://127.0.0.1:9/v1", "model": "m",
                                      "apiKeySecret": {"name": "keys", "key": "tier2"}, "pricePer1kTokens": 2.0})
    monkeypatch.delenv("COGUMI_TEACHER_TIER2_API_KEY", raising=False)
    with pytest.raises(PermanentError, match="COGUMI_TEACHER_TIER2_API_KEY"):
        TeacherClient(teacher)
    monkeypatch.setenv("COGUMI_TEACHER_TIER2_API_KEY", "sk-secret")
    client = TeacherClient(teacher)
    # worst case: every character a token, the chat overhead, and maxTokens (512) at 2 per 1K tokens
    assert client.worst_case_cost("x" * 100) == pytest.approx((100 + 32 + 512) / 1000 * 2.0)
    client.close()


def test_batches_cycle_through_shuffled_epochs_and_the_loss_summary() -> None:
    batches = sample_batches(5, 2, 6, seed=0)
    assert len(batches) == 6 and all(len(b) == 2 for b in batches)
    assert {i for b in batches[:3] for i in b} == set(range(5))  # an epoch is used up before the next starts
    summary = LossCurve([4.0, 3.0, 2.0, 1.0]).summary()
    assert summary["steps"] == 4 and summary["lossFirst"] == 4.0 and summary["lossLast"] == 1.0
