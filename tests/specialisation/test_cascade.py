"""The teacher cascade against two real OpenAI-compatible servers started here: tier 1 the student
(SmolLM2-135M-Instruct, llama-cpp-python's server on its GGUF, behind an API key), tier 2 a real,
stronger teacher (Qwen2.5-Coder-0.5B-Instruct Q4_K_M, the builtin teacher asset, on llama-cpp-python's
server). Where llama-cpp-python is not installed both fall back to the project's server on the
student. Nothing is stubbed: what a tier answers is whatever the model generates, and the verifier
decides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cogumi_workloads.tasks.base import TaskItem, check_json
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.training import teacherservers
from cogumi_workloads.training.teachers import api_key_env

from .helpers import THREADS, write_jsonl

pytestmark = pytest.mark.slow
KEY = "sk-cogumi-test-4b1d9e"
ANSWER = "\n\nEnd your reply with a final line of the form 'Answer: <your answer>'."
EASY = [("What is 2 + 2?", "4"), ("What is 10 + 5?", "15"), ("What is 3 times 3?", "9")]
TEACHER = "qwen2.5-coder-0.5b-instruct"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    logs = tmp_path_factory.mktemp("teachers")
    keyed = teacherservers.llama_cpp_available()
    first = teacherservers.start("llama-cpp" if keyed else "cogumi", logs, api_key=KEY if keyed else None)
    try:
        second = (teacherservers.start("llama-cpp", logs, model=str(teacherservers.builtin_gguf(TEACHER)))
                  if keyed else teacherservers.start("cogumi", logs))
    except BaseException:
        first.stop()
        raise
    yield {"tier1": first, "tier2": second, "keyed": keyed}
    first.stop()
    second.stop()


def _items() -> list[TaskItem]:
    easy = [TaskItem(id=f"finance/easy/{i}", domain="finance", prompt=q + ANSWER, answer=a,
                     check=check_json({"amount": a}), source="test") for i, (q, a) in enumerate(EASY)]
    hard = [t for t in get_suite("finance").split("train", 20) if "compound" in t.prompt][:3]
    return easy + hard


def _teach(tmp_path: Path, servers: dict[str, Any], items: list[TaskItem], teachers: list[dict[str, Any]],
           env: dict[str, str]) -> tuple[int, dict[str, Any], str, str]:
    baseline = tmp_path / "baseline"
    write_jsonl(baseline / "failures.jsonl", [i.model_dump() for i in items])
    result = tmp_path / "result.json"
    invocation = {"resource": {"kind": "ModifierTraining", "name": "teach-test"}, "stage": "teach",
                  "params": {"domain": "finance", "baseModel": {"uri": "builtin://tiny-llama"}, "teachers": teachers},
                  "inputs": {"baseline": {"uri": baseline.as_uri()}}, "output": (tmp_path / "out").as_uri(),
                  "result": result.as_uri()}
    spec = tmp_path / "invocation.json"
    spec.write_text(json.dumps(invocation))
    proc = subprocess.run([sys.executable, "-m", "cogumi_workloads", "modifiertraining.teach", "--spec", str(spec)],
                          capture_output=True, text=True, env={**os.environ, **THREADS, **env}, timeout=1200,
                          check=False)
    report = json.loads(result.read_text()) if result.exists() else {}
    return proc.returncode, report, proc.stderr, result.read_text() if result.exists() else ""


def _tier(servers: dict[str, Any], name: str, **extra: Any) -> dict[str, Any]:
    server = servers[name]
    teacher = {"name": name, "url": server.url, "model": server.model, "maxTokens": 48, **extra}
    if name == "tier1" and servers["keyed"]:
        teacher["apiKeySecret"] = {"name": "teacher-keys", "key": "tier1"}
    return teacher


def test_only_failures_escalate_and_the_budget_caps_the_paid_tier(tmp_path: Path, servers: dict[str, Any]) -> None:
    items = _items()
    budget = 0.4  # price 1 per 1K tokens: a call costs ~0.1 and is made only while its worst case (~0.25) fits
    code, report, stderr, raw = _teach(tmp_path, servers, items, [
        _tier(servers, "tier1"),
        _tier(servers, "tier2", pricePer1kTokens=1.0, budget=budget, samples=2, temperature=0.7),
    ], {api_key_env("tier1"): KEY})
    assert code == 0, stderr
    m = report["metrics"]
    out = Path(report["artifacts"]["teacher-data"]["uri"].removeprefix("file://"))
    trail = json.loads((out / "cascade.json").read_text())["trail"]
    accepted = [json.loads(line) for line in (out / "accepted.jsonl").read_text().splitlines()]

    assert m["tier.tier1.calls"] == len(items) and m["tier.tier1.errors"] == 0  # the key was accepted
    for item in items:
        first, *rest = trail[item.id]
        assert first[0] == "tier1"
        if first[1] == "correct":
            assert rest == [], f"{item.id} was solved by tier 1 but reached tier 2"
        else:
            assert rest and rest[0][0] == "tier2", f"{item.id} failed at tier 1 and did not escalate"
    escalated = [i for i in items if trail[i.id][0][1] != "correct"]
    assert m["tier.tier1.escalated"] == len(escalated)
    assert m["tier.tier2.spend"] <= budget and m["tier.tier2.calls"] >= (1 if escalated else 0)
    if m["tier.tier2.budgetExhausted"]:
        assert any(step == ["tier2", "budget"] for i in escalated for step in trail[i.id][1:])
    assert m["tier.tier2.calls"] <= 2 * len(escalated)
    easy_escalated = [i for i in escalated if i.id.startswith("finance/easy/")]
    if servers["keyed"] and easy_escalated and not m["tier.tier2.budgetExhausted"]:
        assert m["tier.tier2.accepted"] >= 1, "the 0.5B teacher solved none of the one-step sums the student failed"
    assert m["accepted"] + m["unresolved"] == len(items) == m["items"]
    assert m["accepted"] == m["tier.tier1.accepted"] + m["tier.tier2.accepted"] == len(accepted)
    by_id = {i.id: i for i in items}
    suite = get_suite("finance")
    assert all(suite.verify(by_id[a["id"]], a["answer"]) for a in accepted), "an unverified answer was accepted"
    assert KEY not in stderr and KEY not in raw and KEY not in (out / "cascade.json").read_text()


def test_a_wrong_key_fails_the_calls_and_the_items_escalate(tmp_path: Path, servers: dict[str, Any]) -> None:
    if not servers["keyed"]:
        pytest.skip("needs llama-cpp-python's server, which checks API keys")
    items = _items()[:2]
    code, report, stderr, raw = _teach(tmp_path, servers, items, [_tier(servers, "tier1")],
                                       {api_key_env("tier1"): "sk-wrong"})
    assert code == 0, stderr
    m = report["metrics"]
    assert m["tier.tier1.errors"] == 2 and m["tier.tier1.calls"] == 0 and m["unresolved"] == 2
    assert "HTTP 401" in stderr and "sk-wrong" not in stderr and "sk-wrong" not in raw


def test_a_teacher_that_is_down_counts_as_failed_and_its_items_go_on(tmp_path: Path,
                                                                     servers: dict[str, Any]) -> None:
    items = _items()[:3]
    down = {"name": "down", "url": f"http://127.0.0.1:{teacherservers.free_port()}/v1", "model": "x", "maxTokens": 48,
            "pricePer1kTokens": 1.0, "budget": 1.0}
    code, report, stderr, _ = _teach(tmp_path, servers, items, [down, _tier(servers, "tier2")], {})
    assert code == 0, stderr
    m = report["metrics"]
    assert m["tier.down.errors"] == 3 and m["tier.down.calls"] == 0 and m["tier.down.spend"] == 0
    assert m["tier.down.escalated"] == 3 and m["tier.tier2.calls"] == 3  # nothing lost: every item went on
    assert m["accepted"] + m["unresolved"] == 3 and "teacher call failed" in stderr


def test_a_missing_key_is_a_permanent_error_naming_the_variable(tmp_path: Path, servers: dict[str, Any]) -> None:
    teacher = {**_tier(servers, "tier1"), "apiKeySecret": {"name": "teacher-keys", "key": "tier1"}}
    env_name = api_key_env("tier1")
    saved = os.environ.pop(env_name, None)
    try:
        code, report, _, _ = _teach(tmp_path, servers, _items()[:1], [teacher], {})
    finally:
        if saved is not None:
            os.environ[env_name] = saved
    assert code == 2 and report["outcome"] == "Failed" and env_name in report["message"]


def test_distillation_pairs_come_from_verified_teacher_answers(tmp_path: Path, servers: dict[str, Any]) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", [{"id": f"e{i}", "prompt": q + ANSWER, "answer": a}
                                                 for i, (q, a) in enumerate(EASY)])
    result = tmp_path / "result.json"
    teacher = {k: v for k, v in _tier(servers, "tier2").items() if k != "apiKeySecret"}
    invocation = {"resource": {"kind": "BaseTraining", "name": "distill-test"}, "stage": "distill",
                  "params": {"baseModel": {"uri": "builtin://tiny-llama"}, "data": {"uri": data.as_uri()},
                             "distillation": {"teacher": teacher, "pairs": 6}},
                  "output": (tmp_path / "out").as_uri(), "result": result.as_uri()}
    spec = tmp_path / "invocation.json"
    spec.write_text(json.dumps(invocation))
    proc = subprocess.run([sys.executable, "-m", "cogumi_workloads", "basetraining.distill", "--spec", str(spec)],
                          capture_output=True, text=True, env={**os.environ, **THREADS}, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr
    m = json.loads(result.read_text())["metrics"]
    assert m["prompts"] == 3 and m["calls"] == 3 and m["forward"] == m["reverse"] == m["pairs"] / 2
    assert m["rejected"] == 3 - m["forward"]
    pairs = [json.loads(line) for line in (tmp_path / "out" / "distilled" / "pairs.jsonl").read_text().splitlines()]
    for forward, reverse in zip(pairs[::2], pairs[1::2], strict=True):
        assert forward["direction"] == "forward" and reverse["direction"] == "reverse"
        assert forward["answer"] in reverse["prompt"] and reverse["answer"] == forward["prompt"]


def test_enhanced_hardest_examples_take_the_teachers_verified_answers(servers: dict[str, Any]) -> None:
    """The recovery's 2E step on the real tier-2 server: a reply that passes the example's check replaces the
    reference; one that does not leaves the example as it was, and so does plain text."""
    from cogumi_api.common import Teacher
    from cogumi_workloads.compress.enhance import enhance
    from cogumi_workloads.compress.texts import Example
    from cogumi_workloads.runtime.logs import JsonLogger
    from cogumi_workloads.training.teachers import TUTOR, TeacherClient

    teacher = Teacher.model_validate({k: v for k, v in _tier(servers, "tier2").items() if k != "apiKeySecret"}
                                     | {"maxTokens": 96})
    prompt = "What is 2 + 2?" + ANSWER
    client = TeacherClient(teacher, system=TUTOR)
    said = client.complete(prompt).text  # greedy: the same reply again inside enhance()
    client.close()
    agreeing = Example(prompt, answer=said.strip().splitlines()[0])  # its own first line passes the check
    disagreeing = Example(prompt.replace("2 + 2", "2 + 3"), answer="-987654")
    plain = Example("Rivers rise after rain.", answer=None, chat=False)
    out, metrics = enhance([agreeing, disagreeing, plain], teacher, teacher.url or "", JsonLogger("test"))
    assert out[0].answer == said and out[0].prompt == agreeing.prompt
    assert out[1] == disagreeing and out[2] == plain
    assert metrics["teacherAsked"] == 2 and metrics["teacherCalls"] == 2 and metrics["teacherAccepted"] == 1


def test_a_teacher_without_a_model_id_uses_the_one_the_endpoint_lists(servers: dict[str, Any]) -> None:
    from cogumi_api.common import Teacher
    from cogumi_workloads.training.teachers import TeacherClient

    server = servers["tier2"]
    client = TeacherClient(Teacher(name="unnamed", url=server.url, maxTokens=8))
    try:
        assert client.model_id() == server.model
        assert client.complete("Say OK.").completion_tokens >= 1
    finally:
        client.close()
