"""Fixtures of the server tests: the builtin tiny Llama with two random LoRA modifiers, served by a
real ``serve`` process (keyword baseline router, an escalation stub on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kserve", reason="the serve extra is not installed")

from .serverkit import EscalationStub, ServerProcess

DOMAINS = ("math", "code")


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    pytest.importorskip("transformers")
    pytest.importorskip("peft")
    from cogumi_workloads.assets.models import resolve

    return resolve("tiny-llama")


@pytest.fixture(scope="session")
def tiny_adapters(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Randomly initialised (non-zero) LoRA adapters, so each modifier really changes the output."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("adapters")
    out: dict[str, Path] = {}
    for i, domain in enumerate(DOMAINS):
        torch.manual_seed(100 + i)
        model = AutoModelForCausalLM.from_pretrained(tiny_model)
        config = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
                            init_lora_weights=False)
        get_peft_model(model, config).save_pretrained(root / domain)
        out[domain] = root / domain
    return out


def deployment(model: Path, adapters: dict[str, Path], **extra: Any) -> dict[str, Any]:
    """A ModelDeployment spec as the operator renders it (camelCase, references resolved)."""
    return {"model": {"uri": model.as_uri(), "format": "hf"},
            "modifiers": [{"domain": d, "adapter": {"uri": p.as_uri()}} for d, p in adapters.items()],
            "mode": "fast", "selfConsistency": {"samples": 3, "temperature": 0.8}, "selfCritique": True,
            "memory": {"lastN": 2}, "ui": True, **extra}


@pytest.fixture(scope="session")
def escalation_stub() -> Iterator[EscalationStub]:
    stub = EscalationStub()
    yield stub
    stub.close()


@pytest.fixture(scope="session")
def server(tiny_model: Path, tiny_adapters: dict[str, Path], escalation_stub: EscalationStub,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("server")
    proc = ServerProcess(deployment(tiny_model, tiny_adapters), work, "tiny",
                         ("--router-baseline", "--threads", "1", "--escalation-url", escalation_stub.url,
                          "--escalation-model", "big"))
    proc.start()
    yield proc
    proc.stop()
