"""The end of `cogumi demo`: a few chat completions through a deployment's OpenAI-compatible API.

Plain HTTP (the standard library's client): `GET /v1/models`, then `POST /v1/chat/completions` with
the deployment's routed model id, so the deployment's router picks the modifier. What answered comes
from the response (`x-cogumi-route`, `x-cogumi-confidence`, the `cogumi` metadata, `usage`).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from rich.table import Table

# One question a domain's modifier is for (the demo asks those of the deployment's modifiers).
PROMPTS: dict[str, str] = {
    "code": "Write a Python function `is_even(n)` that returns True when n is even.",
    "reasoning": "All bloops are razzies and all razzies are lazzies. Are all bloops lazzies? Answer yes or no.",
    "automation": "Call the get_weather tool for the city Paris. Reply with only the JSON tool call.",
    "math": "What is 17 * 23?",
    "hard-math": "What is the sum of the first 20 positive odd numbers?",
    "science": "What gas do plants absorb from the air for photosynthesis?",
    "finance": "What is 15% of 240?",
    "creative": "Write a two-line poem about the sea.",
}
TIMEOUT_S = 300.0


class QueryError(RuntimeError):
    """The deployment did not answer as an OpenAI-compatible API should."""


@dataclass(frozen=True)
class Answer:
    domain: str
    prompt: str
    text: str
    route: str
    """The modifier that answered (`base` for none), from `x-cogumi-route`."""
    confidence: str
    seconds: float
    completion_tokens: int | None


def _call(url: str, method: str, body: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return json.loads(resp.read()), {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as err:
        raise QueryError(f"{method} {url}: HTTP {err.code}: {err.read()[:500]!r}") from err
    except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError, ValueError) as err:
        raise QueryError(f"{method} {url}: {err}") from err


def model_id(base_url: str) -> str:
    """The deployment's routed model id: the first one `/v1/models` lists."""
    listing, _ = _call(f"{base_url.rstrip('/')}/v1/models", "GET")
    data = listing.get("data") or []
    if not data or not isinstance(data[0], dict) or not data[0].get("id"):
        raise QueryError(f"{base_url}/v1/models lists no model: {listing}")
    return str(data[0]["id"])


def ask(base_url: str, model: str, domain: str, prompt: str, max_tokens: int = 96) -> Answer:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
            "temperature": 0}
    start = time.monotonic()
    reply, headers = _call(f"{base_url.rstrip('/')}/v1/chat/completions", "POST", body)
    seconds = time.monotonic() - start
    try:
        text = reply["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as err:
        raise QueryError(f"the chat completion has no choices[0].message.content: {reply}") from err
    usage = reply.get("usage") or {}
    return Answer(domain, prompt, text, headers.get("x-cogumi-route", "?"), headers.get("x-cogumi-confidence", ""),
                  seconds, usage.get("completion_tokens"))


def ask_all(base_url: str, domains: list[str]) -> list[Answer]:
    model = model_id(base_url)
    return [ask(base_url, model, d, PROMPTS[d]) for d in domains if d in PROMPTS]


def answers_table(name: str, url: str, answers: list[Answer]) -> Table:
    table = Table(title=f"ModelDeployment/{name} answering at {url}/v1/chat/completions", title_justify="left")
    for col in ("asked (domain)", "routed to", "confidence", "seconds", "tokens", "answer"):
        table.add_column(col, no_wrap=col not in ("answer", "asked (domain)"))
    for a in answers:
        shown = " ".join(a.text.split())
        table.add_row(f"{a.prompt} ({a.domain})", a.route, a.confidence, f"{a.seconds:.1f}",
                      "" if a.completion_tokens is None else str(a.completion_tokens),
                      shown if len(shown) <= 160 else shown[:159] + "…")
    return table
