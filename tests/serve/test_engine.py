"""The engine without a model: selection, routing, escalation, memory, votes and self-critique."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogumi_api.serving import ModelDeploymentSpec
from cogumi_workloads.serve.answers import final_answer, majority, normalise
from cogumi_workloads.serve.backends.base import Turn, cut_at_stop, held_back
from cogumi_workloads.serve.engine import Engine
from cogumi_workloads.serve.errors import InvalidRequest, ModelNotFound
from cogumi_workloads.serve.memory import SessionMemory
from cogumi_workloads.serve.routing import LexicalDissatisfactionBaseline, load_policy
from cogumi_workloads.serve.settings import ServerSettings

from .fakes import FakeBackend

SPEC = {"model": {"uri": "file:///m"}, "modifiers": [{"domain": "math", "adapter": {"uri": "file:///a"}},
                                                     {"domain": "code", "adapter": {"uri": "file:///b"}}],
        "selfConsistency": {"samples": 5, "temperature": 0.9}, "memory": {"lastN": 2}}


def engine(tmp_path: Path, backend: FakeBackend, **spec: object) -> Engine:
    settings = ServerSettings(name="md", spec=ModelDeploymentSpec.model_validate({**SPEC, **spec}), state_dir=tmp_path)
    policy = load_policy(None, ["math", "code"], 0.8)
    return Engine(settings, backend, policy, SessionMemory(tmp_path / "m.sqlite3", 2))


def ask(e: Engine, text: str, model: str = "md", **kw: object):
    params: dict = dict(model=model, messages=[Turn("user", text)], prompt=None, max_tokens=None, temperature=None,
                        top_p=None, n=1, stop=(), seed=None, mode=None, session=None)
    params.update(kw)
    plan = e.plan(**params)
    return plan, e.answer(plan)


def test_model_names_and_selection(tmp_path: Path):
    e = engine(tmp_path, FakeBackend())
    assert e.model_names() == ["md", "md:base", "md:math", "md:code"]
    plan, _ = ask(e, "what is 2 plus 3", model="md")
    assert plan.decision.source == "router" and plan.decision.modifier == "math" and plan.decision.confidence == 1.0
    assert not plan.escalated()
    plan, _ = ask(e, "what is 2 plus 3", model="md:code")
    assert (plan.decision.source, plan.decision.modifier) == ("explicit", "code")
    plan, _ = ask(e, "what is 2 plus 3", model="md:base")
    assert (plan.decision.source, plan.decision.modifier) == ("base", None)
    with pytest.raises(ModelNotFound):
        ask(e, "x", model="md:finance")
    with pytest.raises(ModelNotFound):
        ask(e, "x", model="gpt-4")
    with pytest.raises(InvalidRequest) as err:
        ask(e, "x", n=9)
    assert err.value.param == "n"


def test_low_confidence_escalates_and_says_no_target(tmp_path: Path):
    e = engine(tmp_path, FakeBackend())
    plan, _ = ask(e, "tell me about the weather")
    meta = e.metadata(plan)
    assert plan.escalated() and meta["escalation"]["escalated"] and meta["escalation"]["target"] is None
    assert "no escalation target" in meta["escalation"]["note"]
    assert "below threshold" in meta["escalation"]["reasons"][0]


def test_dissatisfaction_escalates_and_memory_keeps_last_n(tmp_path: Path):
    backend = FakeBackend()
    e = engine(tmp_path, backend)
    for q in ("add 1 plus 1", "add 2 plus 2", "add 3 plus 3"):
        plan, _ = ask(e, q, session="s1")
        assert not plan.escalated()
    assert [x.query for x in e.memory.recall("s1")] == ["add 2 plus 2", "add 3 plus 3"]
    sent = backend.requests[-1].messages
    assert [t.content for t in sent] == ["add 1 plus 1", "The answer is 7", "add 2 plus 2", "The answer is 7",
                                         "add 3 plus 3"]
    plan, _ = ask(e, "add 3 plus 3", session="s1")  # the same question again
    assert plan.escalated() and "dissatisfaction" in plan.decision.escalate_reasons[0]
    plan, _ = ask(e, "That's wrong, add 3 plus 3 again", session="s2")
    assert plan.escalated()
    assert e.memory.count("s1") == 2 and e.memory.count("other") == 0


def test_accurate_mode_votes_and_critique_retries_once(tmp_path: Path):
    answers = {0: "so 12", 1: "The answer is 12.", 2: "#### 13", 3: "answer: 12", 4: "13",
               5: "\\boxed{13}", 6: "13", 7: "13", 8: "12", 9: "x"}
    backend = FakeBackend(answers=answers, p_yes=[0.2, 0.7])
    e = engine(tmp_path, backend, selfCritique=True)
    _, out = ask(e, "what is 6 plus 6", mode="accurate", seed=0)
    sc = out[0].meta["self_consistency"]
    first, second = sc["attempts"]
    assert first["votes"] == {"12": 3, "13": 2} and first["winner"] == "12" and not first["critique"]["accepted"]
    assert second["votes"] == {"13": 3, "12": 1, "x": 1} and second["critique"]["accepted"]
    assert sc["chosen_attempt"] == 2 and out[0].text == "\\boxed{13}"
    assert all(r.temperature == 0.9 for r in backend.requests) and len(backend.requests) == 10
    assert len(backend.critiques) == 2 and "\\boxed{13}" in backend.critiques[1][1].content


def test_accurate_mode_without_critique_is_one_round(tmp_path: Path):
    backend = FakeBackend(answers={0: "7", 1: "8", 2: "8", 3: "7", 4: "8"})
    e = engine(tmp_path, backend)
    _, out = ask(e, "add 4 plus 4", mode="accurate", seed=0)
    assert out[0].text == "8" and len(out[0].meta["self_consistency"]["attempts"]) == 1 and not backend.critiques


def test_answers_normalise():
    assert final_answer("so the result is 1,234.0 dollars") == "1,234.0 dollars"
    assert normalise(final_answer("blah 3 then 1,234.0")) == "1234"
    assert normalise(" $42. ") == "42" and normalise("Paris.") == "paris"
    assert majority(["a 1", "a 2", "b 2"]).winner == "2"


def test_stop_sequences_and_dissatisfaction_rules():
    assert cut_at_stop("hello world", ("o w",)) == ("hell", True)
    assert held_back("abc</s", ("</s>",)) == 3
    d = LexicalDissatisfactionBaseline()
    assert d.dissatisfied("This doesn't work at all") and d.dissatisfied("WHY IS THIS SO BROKEN NOW")
    assert d.dissatisfied("what is 2+2", "what is 2+2") and not d.dissatisfied("thanks, and 3+3?", "what is 2+2")
