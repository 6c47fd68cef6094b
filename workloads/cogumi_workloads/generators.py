"""Builtin generators of prompt/answer pairs whose answers are exact (checkable by a verifier).

- ``arithmetic``: integer expressions over ``+ - *`` and exact division, answer the integer value;
- ``percent``: "x% of y", answer exact in decimal arithmetic, rounded half-up to 2 decimals;
- ``interest``: simple or compound interest (annual, quarterly or monthly compounding), answer the
  interest or final balance rounded half-up to 2 decimals;
- ``tool-call``: a natural-language request, answer the expected tool call as canonical JSON
  (``{"arguments": {...}, "name": ...}`` with sorted keys).

Output is deterministic for a given (name, seed, count). On purpose about 5 % of the records are
duplicates of an earlier record: some exact copies, the rest near duplicates that differ only in
letter case and whitespace (extra spaces, a line break, padding). They give ``dataset.dedup``
work to do; after its normalisation (lower case, collapsed whitespace) they equal the original.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

Pair = tuple[str, str]
DUPLICATE_FRACTION = 0.05
CENT = Decimal("0.01")

DEFAULT_DOMAIN: dict[str, str] = {
    "arithmetic": "math", "percent": "finance", "interest": "finance", "tool-call": "automation",
}


def _num(value: Decimal) -> str:
    """A decimal in plain notation without trailing zeros (100, 12.5)."""
    return format(value.normalize(), "f")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def arithmetic(rng: random.Random) -> Pair:
    a, b, c, d = (rng.randint(2, 99) for _ in range(4))
    forms: list[tuple[str, int]] = [
        (f"{a} + {b} * {c}", a + b * c),
        (f"({a} + {b}) * {c}", (a + b) * c),
        (f"{a} * {b} - {c}", a * b - c),
        (f"({a} - {b}) * ({c} + {d})", (a - b) * (c + d)),
        (f"{a * b} / {b} + {c}", a + c),
        (f"{a} - {b} - {c} * {d}", a - b - c * d),
    ]
    expr, value = rng.choice(forms)
    template = rng.choice(["What is {e}?", "Compute {e}.", "Calculate the value of {e}.",
                           "Evaluate {e} and give the integer result."])
    return template.format(e=expr), str(value)


def percent(rng: random.Random) -> Pair:
    rate = Decimal(rng.randint(1, 400)) / Decimal(rng.choice([1, 2, 4, 10]))
    base = Decimal(rng.randint(10, 100_000)) / Decimal(rng.choice([1, 1, 10, 100]))
    template = rng.choice(["What is {r}% of {b}?", "Compute {r} percent of {b}.",
                           "How much is {r}% of {b}? Round to 2 decimals.",
                           "A price of {b} is discounted by {r}%. How large is the discount?"])
    return template.format(r=_num(rate), b=_num(base)), _money(rate * base / 100)


def interest(rng: random.Random) -> Pair:
    principal = Decimal(rng.randint(100, 50_000))
    rate = Decimal(rng.randint(5, 120)) / 10
    years = rng.randint(1, 15)
    if rng.random() < 0.5:
        value = principal * rate * years / 100
        prompt = (f"A deposit of ${principal} earns {rate}% simple interest per year. "
                  f"How much interest has it earned after {years} years? Round to 2 decimals.")
        return prompt, _money(value)
    periods, label = rng.choice([(1, "annually"), (4, "quarterly"), (12, "monthly")])
    balance = principal * (1 + rate / 100 / periods) ** (periods * years)
    if rng.random() < 0.5:
        prompt = (f"${principal} is invested at {rate}% per year compounded {label}. "
                  f"What is the balance after {years} years? Round to 2 decimals.")
        return prompt, _money(balance)
    prompt = (f"How much compound interest does ${principal} earn in {years} years at an annual rate of "
              f"{rate}% compounded {label}? Round to 2 decimals.")
    return prompt, _money(balance - principal)


_CITIES = ["Lisbon", "Tokyo", "Nairobi", "Toronto", "Lima", "Oslo", "Hanoi", "Cairo", "Denver", "Perth"]
_PEOPLE = ["alice", "bob", "carol", "dmitri", "erin", "farah", "gus", "hana"]
_TOPICS = ["budget review", "launch plan", "team lunch", "quarterly report", "design sync", "travel"]
_CURRENCIES = ["USD", "EUR", "JPY", "GBP", "BRL", "INR"]


def tool_call(rng: random.Random) -> Pair:
    kind = rng.randrange(5)
    if kind == 0:
        city, unit = rng.choice(_CITIES), rng.choice(["celsius", "fahrenheit"])
        prompt = rng.choice(["What's the weather in {c} right now, in {u}?",
                             "Tell me the current {u} temperature in {c}."])
        call = {"name": "get_weather", "arguments": {"city": city, "unit": unit}}
        return prompt.format(c=city, u=unit), _canonical(call)
    if kind == 1:
        person, topic = rng.choice(_PEOPLE), rng.choice(_TOPICS)
        minutes = rng.randint(5, 90)
        prompt = f"Email {person}@example.com with the subject \"{topic}\" saying I will be {minutes} minutes late."
        call = {"name": "send_email", "arguments": {
            "to": f"{person}@example.com", "subject": topic, "body": f"I will be {minutes} minutes late."}}
        return prompt, _canonical(call)
    if kind == 2:
        topic = rng.choice(_TOPICS)
        month, day, hour = rng.randint(1, 12), rng.randint(1, 28), rng.randint(8, 18)
        date, time = f"2025-{month:02d}-{day:02d}", f"{hour:02d}:{rng.choice(['00', '15', '30', '45'])}"
        prompt = f"Put a \"{topic}\" meeting on my calendar for {date} at {time}."
        return prompt, _canonical({"name": "create_event", "arguments": {"title": topic, "date": date, "time": time}})
    if kind == 3:
        amount = rng.randint(1, 5000)
        src, dst = rng.sample(_CURRENCIES, 2)
        prompt = rng.choice(["Convert {a} {s} to {d}.", "How much is {a} {s} in {d}?"]).format(a=amount, s=src, d=dst)
        return prompt, _canonical({"name": "convert_currency", "arguments": {"amount": amount, "from": src, "to": dst}})
    minutes = rng.randint(1, 180)
    label = rng.choice(["tea", "laundry", "oven", "stand-up", "break", "call mom"])
    prompt = f"Set a {minutes} minute timer called {label}."
    return prompt, _canonical({"name": "set_timer", "arguments": {"minutes": minutes, "label": label}})


def _canonical(call: dict[str, object]) -> str:
    return json.dumps(call, sort_keys=True, ensure_ascii=False)


GENERATORS: dict[str, Callable[[random.Random], Pair]] = {
    "arithmetic": arithmetic, "percent": percent, "interest": interest, "tool-call": tool_call,
}


def _near_duplicate(rng: random.Random, prompt: str) -> str:
    """The same prompt with its letter case and whitespace changed."""
    words = prompt.split(" ")
    style = rng.randrange(4)
    if style == 0:
        variant = prompt.upper()
    elif style == 1:
        variant = "  ".join(words)
    elif style == 2:
        cut = rng.randrange(1, max(2, len(words)))
        variant = " ".join(words[:cut]) + "\n" + " ".join(words[cut:])
    else:
        variant = "  " + prompt.lower() + "  "
    return variant if variant != prompt else prompt + " "


def generate(name: str, count: int, seed: int) -> list[Pair]:
    """``count`` pairs from generator ``name`` (about 5 % of them duplicates, see the module doc)."""
    make = GENERATORS[name]
    rng = random.Random(f"cogumi:{name}:{seed}")
    pairs: list[Pair] = []
    for _ in range(count):
        if pairs and rng.random() < DUPLICATE_FRACTION:
            prompt, answer = rng.choice(pairs)
            pairs.append((prompt if rng.random() < 0.4 else _near_duplicate(rng, prompt), answer))
        else:
            pairs.append(make(rng))
    return pairs
