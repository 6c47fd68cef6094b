"""Every domain's verifier on known right and wrong answers (no model involved)."""

from __future__ import annotations

import json

import pytest

from cogumi_workloads.tasks import extract
from cogumi_workloads.tasks.base import TaskItem, check_json
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.tasks.stats import wilson


def first(domain: str, prefix: str = "") -> TaskItem:
    return next(item for item in get_suite(domain).split("test") if item.id.startswith(prefix))


def test_wilson_matches_known_values() -> None:
    assert wilson(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson(10, 10) == pytest.approx((0.72247, 1.0), abs=1e-5)
    assert wilson(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_extraction_rules() -> None:
    assert extract.final_answer("Let me think.\nThe sum is 4.\nAnswer: **Yes**.") == "Yes"
    assert extract.final_answer("<answer>No</answer> trailing words") == "No"
    assert extract.number("first 3, then 12 and finally\nAnswer: $1,234.50") == extract.number("1234.5")
    assert extract.number_text("It is 7 - 2 = 5") == "5"
    assert extract.number_text("Answer: -0.50") == "-0.50"
    assert extract.number("no digits here") is None
    assert extract.code("Sure:\n```python\ndef f():\n    return 1\n```\nDone") == "def f():\n    return 1\n"
    assert extract.json_object('call: {"name": "x", "arguments": {}} and {"b": 2}') == {"name": "x", "arguments": {}}
    options = ["F = m * a", "E = m * c ^ 2", "p = m * v"]
    assert extract.choice("(B) because", ["A", "B", "C"], options) == "B"
    assert extract.choice("A ball falls, so the answer is C.", ["A", "B", "C"], options) == "C"
    assert extract.choice("Use p = m * v here", ["A", "B", "C"], options) == "C"
    assert extract.choice("a guess", ["A", "B", "C"], options) is None
    assert extract.choice("A. F = m * a\nB. E = m * c ^ 2\nC. p = m * v", ["A", "B", "C"], options) is None
    assert extract.choice("A. F = m * a\nB. E = m * c ^ 2\nThe answer is: B", ["A", "B", "C"], options) == "B"


@pytest.mark.parametrize("domain", ["reasoning", "math", "hard-math", "automation", "finance", "creative"])
def test_every_reference_answer_passes_its_verifier(domain: str) -> None:
    suite = get_suite(domain)
    items = suite.split("test")
    assert all(suite.verify(item, item.answer) for item in items)
    assert not any(suite.verify(item, "") for item in items)


def test_reasoning_yes_no_and_knights() -> None:
    suite = get_suite("reasoning")
    syllogism = first("reasoning", "reasoning/syllogism/")
    other = "No" if syllogism.answer == "Yes" else "Yes"
    assert suite.verify(syllogism, f"Both premises apply.\nAnswer: {syllogism.answer}.")
    assert not suite.verify(syllogism, f"Answer: {other}")
    knights = first("reasoning", "reasoning/knights_knaves/")
    assert suite.verify(knights, f"Thinking...\nAnswer: {knights.answer}")
    flipped = knights.answer.replace("hero", "@").replace("villain", "hero").replace("@", "villain")
    assert not suite.verify(knights, f"Answer: {flipped}")


def test_math_needs_the_exact_number() -> None:
    suite = get_suite("math")
    item = first("math")
    value = int(item.answer)
    assert suite.verify(item, f"Step by step we get {value}.\nAnswer: {value}")
    assert suite.verify(item, f"The result is {value}")
    assert not suite.verify(item, f"Answer: {value + 1}")
    assert not suite.verify(item, f"Answer: {value} or maybe {value + 1}")
    hard = get_suite("hard-math")
    problem = first("hard-math")
    assert hard.verify(problem, f"Answer: {problem.answer}")
    assert not hard.verify(problem, f"Answer: {int(float(problem.answer)) + 10}")


def test_finance_rounds_to_cents() -> None:
    suite = get_suite("finance")
    item = TaskItem(id="t", domain="finance", prompt="p", answer="75046.41", check=check_json({"amount": "75046.41"}),
                    source="test")
    assert suite.verify(item, "That is $75,046.41.")
    assert suite.verify(item, "Answer: 75046.409")
    assert not suite.verify(item, "Answer: 75046.40")
    assert not suite.verify(item, "about seventy-five thousand")


def test_automation_checks_schema_and_values() -> None:
    suite = get_suite("automation")
    item = next(i for i in suite.split("test") if '"convert_currency"' in i.answer)
    expected = json.loads(item.answer)
    assert suite.verify(item, f"```json\n{json.dumps(expected)}\n```")
    as_float = {**expected, "arguments": {**expected["arguments"], "amount": float(expected["arguments"]["amount"])}}
    assert suite.verify(item, json.dumps(as_float))
    as_string = {**expected, "arguments": {**expected["arguments"], "amount": str(expected["arguments"]["amount"])}}
    assert not suite.verify(item, json.dumps(as_string)), "a string amount breaks the schema"
    lower = {**expected, "arguments": {**expected["arguments"], "from": expected["arguments"]["from"].lower()}}
    assert not suite.verify(item, json.dumps(lower)), "the currency pattern is [A-Z]{3}"
    extra = {**expected, "arguments": {**expected["arguments"], "note": "x"}}
    assert not suite.verify(item, json.dumps(extra))
    wrong = {**expected, "arguments": {**expected["arguments"], "amount": expected["arguments"]["amount"] + 1}}
    assert not suite.verify(item, json.dumps(wrong))
    assert not suite.verify(item, json.dumps({**expected, "name": "get_weather"}))
    assert not suite.verify(item, "convert_currency(amount=1)")


def test_creative_rules() -> None:
    suite = get_suite("creative")

    def item(check: dict[str, object]) -> TaskItem:
        return TaskItem(id="t", domain="creative", prompt="p", answer="", check=check_json(check), source="test")

    allit = item({"kind": "alliteration", "n": 4, "letter": "s", "word": "seas"})
    assert suite.verify(allit, "Silent seas slowly sing.")
    assert not suite.verify(allit, "Silent seas slowly sing softly.")
    assert not suite.verify(allit, "Silent seas quietly sing.")
    assert not suite.verify(allit, "Silent streams slowly sing.")
    ending = item({"kind": "ending", "n": 5, "word": "ocean"})
    assert suite.verify(ending, "We walked toward the ocean.")
    assert not suite.verify(ending, "We walked toward the blue ocean.")
    assert not suite.verify(ending, "We walked the ocean shore.")
    acrostic = item({"kind": "acrostic", "word": "sun"})
    assert suite.verify(acrostic, "Shining high\n- up above\n3. noon light")
    assert not suite.verify(acrostic, "Up above\nShining high\nnoon light")
    assert not suite.verify(acrostic, "Shining high\nup above")
