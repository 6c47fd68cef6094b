"""The ``automation`` suite: pick a tool and fill its arguments as a JSON tool call.

Source: our own generator (:func:`cogumi_workloads.generators.tool_call`): requests for five
tools (weather, e-mail, calendar, currency conversion, timer) with the expected call. The prompt
lists every tool with the JSON Schema of its arguments (generated from the pydantic models
below). Splits are drawn from the seeded generator, deduplicated (test 200, validation 100,
train 1000).

Verifier: the first JSON object in the reply must have exactly the keys ``name`` and
``arguments``; ``arguments`` must validate against the named tool's schema (strict types,
required fields, no unknown fields, enums and patterns); then name and arguments must equal the
expected call. Numbers compare by value; strings compare after case folding, collapsing
whitespace and dropping a trailing full stop.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cogumi_api.common import Domain
from cogumi_workloads.generators import tool_call
from cogumi_workloads.tasks import extract
from cogumi_workloads.tasks.base import SplitName, SplitSizes, Suite, TaskItem, check_json, draw


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class GetWeather(_Args):
    """Current weather in a city."""

    city: str = Field(min_length=1)
    unit: Literal["celsius", "fahrenheit"]


class SendEmail(_Args):
    """Send an e-mail."""

    to: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]+$")
    subject: str = Field(min_length=1)
    body: str = Field(min_length=1)


class CreateEvent(_Args):
    """Add an event to the calendar."""

    title: str = Field(min_length=1)
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")
    time: str = Field(pattern=r"^\d{2}:\d{2}$", description="HH:MM, 24-hour")


class ConvertCurrency(_Args):
    """Convert an amount between currencies."""

    amount: float = Field(gt=0)
    """Strict mode still takes a JSON integer for a float field, but never a string."""
    from_: str = Field(alias="from", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    to: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")


class SetTimer(_Args):
    """Start a named countdown timer."""

    minutes: int = Field(ge=1, le=1440)
    label: str = Field(min_length=1)


TOOLS: dict[str, type[_Args]] = {
    "get_weather": GetWeather, "send_email": SendEmail, "create_event": CreateEvent,
    "convert_currency": ConvertCurrency, "set_timer": SetTimer,
}


def _untitled(schema: Any) -> Any:
    """The schema without pydantic's ``title`` keys (noise in a prompt)."""
    if isinstance(schema, dict):
        return {k: _untitled(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_untitled(v) for v in schema]
    return schema


@functools.cache
def tool_catalogue() -> str:
    lines = []
    for name, model in TOOLS.items():
        schema = _untitled(model.model_json_schema(by_alias=True))
        schema.pop("description", None)
        lines.append(f"- {name}: {(model.__doc__ or '').strip()} Arguments schema: "
                     f"{json.dumps(schema, separators=(',', ':'))}")
    return "\n".join(lines)


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, int | float) and isinstance(got, int | float):
        return float(got) == float(want)
    if isinstance(want, str) and isinstance(got, str):
        def norm(text: str) -> str:
            return re.sub(r"\s+", " ", text).strip().casefold().rstrip(".")
        return norm(got) == norm(want)
    return bool(got == want)


def check_call(call: dict[str, Any] | None, expected: dict[str, Any]) -> bool:
    """Whether ``call`` is a schema-valid tool call equal to ``expected`` (see the module doc)."""
    if call is None or set(call) != {"name", "arguments"}:
        return False
    model = TOOLS.get(call["name"]) if isinstance(call["name"], str) else None
    if model is None or not isinstance(call["arguments"], dict):
        return False
    try:
        model.model_validate(call["arguments"])
    except ValidationError:
        return False
    want = expected["arguments"]
    got = call["arguments"]
    return call["name"] == expected["name"] and set(got) == set(want) and all(_same(got[k], want[k]) for k in want)


class AutomationSuite(Suite):
    domain: ClassVar[Domain] = "automation"
    source = "cogumi generator tool-call (five tools, arguments checked by JSON Schema)"
    sizes = SplitSizes(train=1000, validation=100, test=200)
    max_new_tokens = 96

    def _make(self, index: int) -> TaskItem:
        request, answer = tool_call(self.rng(f"item:{index}"))
        prompt = (f"You can call these tools:\n{tool_catalogue()}\n\nRequest: {request}\n\n"
                  'Reply with only the tool call, as one JSON object: {"name": <tool>, "arguments": {...}}.')
        return TaskItem(id=f"automation/{index}", domain=self.domain, prompt=prompt, answer=answer,
                        check=check_json({"expected": json.loads(answer)}), source=f"cogumi:tool-call#{index}")

    def _build_split(self, name: SplitName) -> list[TaskItem]:
        return draw(self._make, self.sizes, name)

    def verify(self, item: TaskItem, completion: str) -> bool:
        return check_call(extract.json_object(completion), item.data()["expected"])
