"""Generated training data for the escalation detector: is the user dissatisfied with the last answer?

Each example is ``(message, previous, label)``: the user's new message, the user's previous query
(``None`` for the first turn) and 1 when the message shows dissatisfaction. Messages come from
template families (see ``TEMPLATES``), each a category with a label:

- dissatisfied (1): ``wrong`` (explicit corrections, "that's wrong", wrong numbers), ``broken``
  (the code fails, error messages), ``complaint`` ("this is useless", "not what I asked"),
  ``frustration`` (markers: "ugh", "seriously???", capitals, giving up), ``repeat`` (the previous
  question asked again, verbatim or wrapped: "I asked: …") and ``human`` (asks for a person / a
  better model);
- neutral (0): ``thanks``, ``followup`` (builds on the answer: "can you also add tests?"),
  ``new`` (an unrelated new query from the domain suites) and ``tricky`` (neutral messages with
  negative words or error text: "what's wrong with this code? it raises KeyError", "translate
  'this is useless' into French", "same question but for 5 items").

Slots (``{prev}``, ``{other}``, ``{num}``, ``{err}``, ``{lang}``, ``{thing}``, ``{ask}``) are filled at
random, and every message is varied (prefix, case, trailing punctuation, emoticons, one typo).
Held-out evaluation: every fourth template of each category is used only for the test split, so
accuracy is measured on phrasings the classifiers never saw.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

TEMPLATES: dict[str, tuple[int, tuple[str, ...]]] = {
    "wrong": (1, (
        "that's wrong", "No, that's not right.", "That answer is incorrect.", "wrong again",
        "The answer should be {num}, not {num2}.", "{num2}? It's {num}. Check your math.",
        "Nope, {thing} is wrong.", "You made a mistake in {thing}.", "this is not correct at all",
        "Incorrect. Try again.", "that's not true", "Are you sure? Because that's definitely wrong.",
        "No. Wrong.", "you got {thing} backwards", "That's not how {thing} works.", "the math is off",
    )),
    "broken": (1, (
        "Your code doesn't work.", "It crashes with {err}", "Still getting {err}", "this doesn't even compile",
        "I ran it and it fails: {err}", "that didn't fix anything", "same error as before: {err}",
        "It still doesn't work!!", "the output is wrong, it prints {num2} instead of {num}",
        "Getting {err} on line {num}", "it hangs forever", "the tests fail now", "Now it's even worse.",
        "still the same bug",
    )),
    "complaint": (1, (
        "This is useless.", "What a terrible answer.", "you're not helping", "That made no sense whatsoever.",
        "this is a waste of my time", "Worst explanation ever.", "That's not what I asked for.",
        "you completely ignored my question", "I already told you {thing} is not the problem.",
        "Why do you keep giving me the same answer?", "you didn't answer the question", "Not helpful.",
        "you're just making things up", "that's way too vague", "you misunderstood me completely",
        "This is garbage.",
    )),
    "frustration": (1, (
        "ugh", "seriously???", "omg stop", "WHY IS THIS SO HARD", "are you even reading what I write?",
        "come on...", "for the third time, NO", "i give up", "this is so frustrating",
        "unbelievable. wrong again", "are you kidding me", "why won't you listen", "this is ridiculous",
        "I'm so done with this", "hello?? anyone??", "NO NO NO",
    )),
    "repeat": (1, (
        "{prev}", "I asked: {prev}", "Again: {prev}", "Let me ask one more time. {prev}", "{prev}??",
        "once again, {prev_lower}", "I'll repeat my question: {prev}", "Please just answer this: {prev}",
        "{prev} -- answer the actual question", "Can you please answer: {prev}",
        "Still waiting for an answer to: {prev}", "you haven't answered: {prev}",
    )),
    "human": (1, (
        "let me talk to a human", "can I speak to a real person?", "get me someone who knows what they're doing",
        "transfer me to support", "I want a better model to answer this", "escalate this please",
        "is there a person I can talk to", "I need a human agent", "can a real expert check this?",
        "connect me with customer service", "switch me to a smarter model", "I'd like to speak to a supervisor",
    )),
    "thanks": (0, (
        "Thanks!", "great, that works", "Perfect, thank you so much.", "ok got it",
        "That's exactly what I needed.", "awesome, thanks for the help", "Makes sense now, cheers",
        "nice, it runs now", "cool", "thank you, that helped", "works perfectly now", "Brilliant, exactly right.",
        "appreciate it!", "Yes, that's correct, thanks", "that fixed it", "Great explanation.",
    )),
    "followup": (0, (
        "Can you also {ask}?", "Now {ask}, please.", "Could you {ask}?", "What about in {lang}?",
        "How would I do the same in {lang}?", "Can you explain {thing} in more detail?",
        "Why does {thing} work that way?", "And what if the input is {num}?", "ok, and how do I test it?",
        "Interesting. What are the trade-offs?", "Could you give me another example?",
        "Can you show an example with {num}?", "What does {thing} mean here?", "Great, now can you {ask}?",
        "How does this scale to {num} items?", "Is there a faster way?",
    )),
    "new": (0, ("{other}", "Next question: {other}", "Different topic: {other}", "{other} Thanks in advance.",
                "Quick one: {other}", "Also, unrelated: {other}", "Question: {other}", "New task. {other}")),
    "tricky": (0, (
        "What's wrong with this code? It raises {err}", "Why do I get {err} when I run my script?",
        "Is it wrong to use global variables in {lang}?", "No worries. Can you {ask}?",
        "Not bad! Could you {ask}?", "I hate writing regular expressions; write one that matches email addresses.",
        "My manager is frustrated with our sales numbers. Draft a calm reply.",
        "Explain why 0.1 + 0.2 is not exactly 0.3 in floating point.", "Translate 'this is useless' into French.",
        "Write a story about a robot that always gets things wrong.",
        "What is the most common mistake people make with {thing}?",
        "Same question, but for {num} items instead.", "{prev_head}... and how does this work in {lang}?",
        "How do I handle {err} gracefully?", "Write a complaint letter to my landlord about a broken heater.",
        "I'm not sure I understand {thing}; can you walk me through it?",
    )),
}

ERRORS = ("TypeError: 'NoneType' object is not subscriptable", "SyntaxError: invalid syntax",
          "segmentation fault", "KeyError: 'id'", "ZeroDivisionError", "a 404 Not Found", "NaN everywhere",
          "IndexError: list index out of range", "a timeout")
LANGS = ("Python", "JavaScript", "Rust", "Go", "SQL", "Java", "Excel", "bash")
THINGS = ("the second step", "the formula", "the last paragraph", "the loop", "the units", "the final answer",
          "the interest rate", "the regex", "the proof", "the JSON")
ASKS = ("add comments", "make it shorter", "add unit tests", "explain it like I'm five", "format it as a table",
        "use a list instead", "show the intermediate steps", "turn it into a function", "add error handling")
PREFIXES = ("", "", "", "hmm, ", "ok ", "well, ", "so ", "hey, ")
ENDINGS = {1: ("", "", "", " !!!", " :(", " smh"), 0: ("", "", "", " :)", " please", " thx")}
NEEDS_PREV = ("{prev", )


@dataclass(frozen=True)
class Example:
    message: str
    previous: str | None
    label: int
    category: str
    template: str
    """``<category>:<index>``: the template family it came from."""


def is_test_template(index: int) -> bool:
    return index % 4 == 3


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    j = rng.randrange(1, len(words[i]) - 1)
    words[i] = words[i][:j] + words[i][j + 1:]
    return " ".join(words)


def _vary(text: str, label: int, rng: random.Random) -> str:
    if rng.random() < 0.3:
        text = text.lower()
    if rng.random() < 0.2:
        text = text.rstrip(".!")
    if rng.random() < 0.1:
        text = _typo(text, rng)
    prefix = rng.choice(PREFIXES)
    text = prefix + (text[:1].lower() + text[1:] if prefix else text)
    return (text + rng.choice(ENDINGS[label])).strip() or text


def _fill(template: str, previous: str, other: str, rng: random.Random) -> str:
    num = rng.randint(2, 999)
    return template.format(
        prev=previous, prev_lower=previous[:1].lower() + previous[1:], prev_head=" ".join(previous.split()[:6]),
        other=other, num=num, num2=num + rng.choice((-10, -3, -1, 1, 2, 7, 100)), err=rng.choice(ERRORS),
        lang=rng.choice(LANGS), thing=rng.choice(THINGS), ask=rng.choice(ASKS))


def generate(count: int, queries: Sequence[str], seed: int = 0, split: str = "train") -> list[Example]:
    """``count`` examples, half dissatisfied, from the ``train`` or ``test`` templates.

    ``queries`` (domain queries from the task suites) supply the previous turn and new questions.
    """
    if len(queries) < 2:
        raise ValueError("the dissatisfaction generator needs at least two queries for context")
    rng = random.Random(f"{seed}:{split}")
    pools: dict[int, list[tuple[str, int, str]]] = {0: [], 1: []}
    for category, (label, templates) in TEMPLATES.items():
        for index, template in enumerate(templates):
            if is_test_template(index) == (split == "test"):
                pools[label].append((category, index, template))
    by_category: dict[int, dict[str, list[tuple[str, int, str]]]] = {0: {}, 1: {}}
    for label, pool in pools.items():
        for entry in pool:
            by_category[label].setdefault(entry[0], []).append(entry)
    examples: list[Example] = []
    for n in range(count):
        label = n % 2
        category = rng.choice(sorted(by_category[label]))
        _, index, template = rng.choice(by_category[label][category])
        previous, other = rng.sample(list(queries), 2)
        first_turn = not any(marker in template for marker in NEEDS_PREV) and rng.random() < 0.15
        message = _vary(_fill(template, previous, other, rng), label, rng)
        examples.append(Example(message, None if first_turn else previous, label, category,
                                f"{category}:{index}"))
    rng.shuffle(examples)
    return examples
