"""The real server process under the official ``openai`` client, the KServe protocols and /metrics."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from .serverkit import EscalationStub, ServerProcess

pytestmark = pytest.mark.slow
MATH = "What is 12 plus 30? Add the numbers."


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=120)


def chat(client: openai.OpenAI, model: str, text: str = MATH, **kw):
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}], max_tokens=kw.pop("max_tokens", 12),
        temperature=kw.pop("temperature", 0), **kw)
    return raw.parse(), raw.headers


def test_models_are_listed(client: openai.OpenAI):
    assert [m.id for m in client.models.list()] == ["tiny", "tiny:base", "tiny:math", "tiny:code"]


def test_chat_base_and_modifiers_differ(client: openai.OpenAI):
    base, h_base = chat(client, "tiny:base")
    math, h_math = chat(client, "tiny:math")
    code, _ = chat(client, "tiny:code")
    assert base.object == "chat.completion" and base.choices[0].message.role == "assistant"
    assert base.usage.completion_tokens > 0 and base.usage.prompt_tokens > 0
    assert h_base["x-cogumi-route"] == "base" and h_math["x-cogumi-route"] == "math"
    assert math.model_extra["cogumi"]["route"]["source"] == "explicit"
    texts = {base.choices[0].message.content, math.choices[0].message.content, code.choices[0].message.content}
    assert len(texts) == 3, "each adapter must change the greedy output of the random model"
    again, _ = chat(client, "tiny:base")
    assert again.choices[0].message.content == base.choices[0].message.content


def test_router_picks_the_modifier(client: openai.OpenAI):
    resp, headers = chat(client, "tiny", "Write a python function to fix this bug in my code")
    meta = resp.model_extra["cogumi"]
    assert headers["x-cogumi-route"] == "code" and meta["route"]["source"] == "router"
    assert meta["route"]["domain"] == "code" and meta["route"]["confidence"] == 1.0
    assert headers["x-cogumi-escalated"] == "false" and "keyword-baseline" in meta["route"]["router"]


def test_streaming_matches_the_plain_answer(client: openai.OpenAI):
    plain, _ = chat(client, "tiny:math", seed=1)
    stream = client.chat.completions.create(model="tiny:math", messages=[{"role": "user", "content": MATH}],
                                            max_tokens=12, temperature=0, seed=1, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].model_extra["cogumi"]["modifier"] == "math"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == plain.usage.completion_tokens


def test_raw_sse_ends_with_done(server: ServerProcess):
    body = {"model": "tiny:base", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "stream": True}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=60) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = [line for line in resp.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    assert json.loads(events[0][6:])["object"] == "chat.completion.chunk"


def test_accurate_mode_votes_and_critiques(client: openai.OpenAI):
    resp, headers = chat(client, "tiny:math", extra_body={"mode": "accurate"})
    meta = resp.model_extra["cogumi"]
    assert headers["x-cogumi-mode"] == "accurate" and meta["mode"] == "accurate"
    attempts = meta["self_consistency"]["attempts"]
    assert 1 <= len(attempts) <= 2
    for attempt in attempts:
        assert sum(attempt["votes"].values()) == 3 and attempt["temperature"] == 0.8
        assert 0.0 <= attempt["critique"]["p_yes"] <= 1.0
    assert attempts[-1]["critique"]["accepted"] or len(attempts) == 2
    stream = client.chat.completions.create(model="tiny:math", messages=[{"role": "user", "content": MATH}],
                                            max_tokens=8, stream=True, extra_body={"mode": "accurate"})
    chunks = list(stream)
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.model_extra["cogumi"]["self_consistency"]["attempts"]


def test_completions_plain_and_streaming(client: openai.OpenAI):
    resp = client.completions.create(model="tiny:code", prompt="def add(a, b):", max_tokens=6, temperature=0)
    assert resp.object == "text_completion" and resp.choices[0].text and resp.usage.completion_tokens > 0
    pieces = list(client.completions.create(model="tiny:code", prompt="def add(a, b):", max_tokens=6,
                                            temperature=0, stream=True))
    assert "".join(p.choices[0].text for p in pieces if p.choices) == resp.choices[0].text
    two = client.completions.create(model="tiny:base", prompt=["a", "b"], max_tokens=3, temperature=0.9, n=2, seed=5)
    assert [c.index for c in two.choices] == [0, 1, 2, 3]
    accurate = client.completions.create(model="tiny:math", prompt="2+2=", max_tokens=4,
                                         extra_body={"mode": "accurate"})
    assert accurate.model_extra["cogumi"]["self_consistency"]["attempts"]


def error_of(resp: httpx.Response) -> dict:
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


@pytest.mark.parametrize(("body", "status", "param", "code"), [
    ({"model": "tiny", "messages": []}, 400, "messages", "invalid_value"),
    ({"model": "tiny"}, 400, "messages", "missing_required_parameter"),
    ({"model": "tiny", "messages": [{"role": "system", "content": "x"}]}, 400, "messages", "invalid_value"),
    ({"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}, 404, "model", "model_not_found"),
    ({"model": "tiny", "messages": [{"role": "user", "content": "x"}], "n": 50}, 400, "n", "invalid_value"),
    ({"model": "tiny", "messages": [{"role": "user", "content": "x"}], "temperature": 3}, 400, "temperature",
     "invalid_value"),
    ({"model": "tiny", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, 400, "temperature",
     "invalid_value"),
    ({"model": "tiny", "messages": [{"role": "wizard", "content": "x"}]}, 400, "messages.0.role", "invalid_value"),
    ({"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, 400, "max_tokens",
     "invalid_value"),
    ({"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 10 ** 6}, 400, "max_tokens",
     "invalid_value"),
])
def test_invalid_requests_get_openai_errors(server: ServerProcess, body: dict, status: int, param: str, code: str):
    resp = httpx.post(server.url + "/v1/chat/completions", json=body, timeout=30)
    err = error_of(resp)
    assert resp.status_code == status, err
    assert err["param"] == param and err["code"] == code and err["type"] == "invalid_request_error"


def test_bad_json_and_client_errors(server: ServerProcess, client: openai.OpenAI):
    for payload in (b"{not json", b"[1, 2]", b""):
        resp = httpx.post(server.url + "/v1/chat/completions", content=payload, timeout=30,
                          headers={"content-type": "application/json"})
        assert resp.status_code == 400 and error_of(resp)["code"] == "invalid_json"
    resp = httpx.post(server.url + "/v1/completions", json={"model": "tiny", "prompt": ["a"] * 9}, timeout=30)
    assert resp.status_code == 400 and error_of(resp)["param"] == "prompt"
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="tiny:finance", messages=[{"role": "user", "content": "x"}])
    assert err.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}], n=9)
    assert bad.value.param == "n"


def test_session_memory_keeps_the_last_n(client: openai.OpenAI):
    turns = []
    for i in range(4):
        resp, _ = chat(client, "tiny:math", f"add {i} plus {i}", max_tokens=3,
                       extra_headers={"x-session-id": "memory-test"})
        turns.append(resp.model_extra["cogumi"]["memory_turns"])
    assert turns == [0, 1, 2, 2]
    resp, _ = chat(client, "tiny:math", "add 9 plus 9", max_tokens=3, user="someone-else")
    assert resp.model_extra["cogumi"]["memory_turns"] == 0 and resp.model_extra["cogumi"]["session"] == "someone-else"


def test_escalation_forwards_to_the_target(client: openai.OpenAI, escalation_stub: EscalationStub):
    resp, headers = chat(client, "tiny", "Tell me something nice about the weather today.")
    meta = resp.model_extra["cogumi"]
    assert headers["x-cogumi-escalated"] == "true" and meta["escalation"]["escalated"]
    assert meta["escalation"]["target"] == escalation_stub.url and meta["answered_by"]["model"] == "big"
    assert resp.choices[0].message.content == EscalationStub.ANSWER
    assert escalation_stub.requests[-1]["messages"][-1]["content"].startswith("Tell me something nice")
    resp, headers = chat(client, "tiny:math", "this is useless, that's wrong")
    assert headers["x-cogumi-escalated"] == "true"
    assert "dissatisfaction" in resp.model_extra["cogumi"]["escalation"]["reasons"][0]


def test_kserve_protocols(server: ServerProcess):
    assert httpx.get(server.url + "/v2/health/ready", timeout=10).status_code == 200
    assert httpx.get(server.url + "/v2/models/tiny/ready", timeout=10).status_code == 200
    instances = ["add 2 plus 2", {"prompt": "def f():", "model": "tiny:code", "max_tokens": 4}]
    v1 = httpx.post(server.url + "/v1/models/tiny:predict", timeout=60, json={"instances": instances})
    assert v1.status_code == 200, v1.text
    predictions = v1.json()["predictions"]
    assert len(predictions) == 2 and predictions[1]["cogumi"]["modifier"] == "code"
    bad = httpx.post(server.url + "/v1/models/tiny:predict", json={"instances": [3]}, timeout=10)
    assert bad.status_code == 400
    v2 = httpx.post(server.url + "/v2/models/tiny/infer", timeout=60, json={
        "id": "r1", "parameters": {"max_tokens": 4, "model": "tiny:base"},
        "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["hello"]}]})
    assert v2.status_code == 200, v2.text
    out = v2.json()
    assert out["id"] == "r1" and out["outputs"][0]["name"] == "text" and isinstance(out["outputs"][0]["data"][0], str)


def test_metrics_are_exposed(server: ServerProcess, client: openai.OpenAI):
    chat(client, "tiny", "add 1 plus 2")
    chat(client, "tiny:math", extra_body={"mode": "accurate"}, max_tokens=4)
    text = httpx.get(server.url + "/metrics", timeout=10).text
    for needle in ('cogumi_server_request_seconds_bucket{endpoint="chat.completions"',
                   'cogumi_server_routes_total{domain="math",source="router"}',
                   "cogumi_server_tokens_per_second_bucket", "cogumi_server_generated_tokens_total",
                   'cogumi_server_votes_total{agreed="true"}', "cogumi_server_vote_agreement_bucket",
                   "cogumi_server_critiques_total", "cogumi_server_escalations_total",
                   "cogumi_server_router_confidence_bucket",
                   'cogumi_server_requests_total{endpoint="chat.completions"'):
        assert needle in text, needle
