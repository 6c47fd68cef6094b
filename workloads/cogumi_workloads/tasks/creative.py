"""The ``creative`` suite: short texts under constraints that rules check exactly.

Source: our own generator, three constraint families in turn:

- ``alliteration``: exactly N words (3-8), every one starting with a given letter, one of them a
  given word;
- ``ending``: one sentence of exactly N words (4-9) whose last word is a given word;
- ``acrostic``: as many lines as a given word has letters, the lines' first letters spelling it.

Each prompt also names a topic (not checked). Words are letter runs (apostrophes inside a
word allowed), compared case-insensitively; list markers (``-``, ``*``, ``1.``) before a line
are ignored. Reference answers are built from the word lists below (plain, valid, not pretty).
Splits are drawn from the seeded generator, deduplicated (test 200, validation 100, train 1000).
"""

from __future__ import annotations

import random
import re
from typing import Any, ClassVar

from cogumi_api.common import Domain
from cogumi_workloads.tasks.base import SplitName, SplitSizes, Suite, TaskItem, check_json, draw

WORDS: dict[str, tuple[str, ...]] = {
    "a": ("amber", "apples", "arrive", "always", "across", "ancient", "ants", "autumn"),
    "e": ("eager", "eagles", "enter", "early", "every", "evening", "east", "echoes"),
    "h": ("happy", "horses", "hurry", "high", "hills", "home", "honest", "harbors"),
    "i": ("idle", "islands", "invite", "icy", "inside", "ink", "ideas", "ivy"),
    "n": ("new", "nests", "near", "noisy", "nights", "north", "nimble", "notes"),
    "o": ("orange", "owls", "open", "often", "old", "oceans", "over", "oaks"),
    "u": ("urban", "umbrellas", "unfold", "under", "upper", "useful", "unicorns", "up"),
    "b": ("bright", "birds", "build", "brave", "bridges", "beyond", "blue", "bays"),
    "c": ("calm", "cats", "chase", "clever", "clouds", "carefully", "cold", "coasts"),
    "d": ("dark", "dogs", "dance", "daily", "during", "dusty", "deep", "dreams"),
    "f": ("five", "foxes", "find", "fresh", "fruit", "fast", "forests", "far"),
    "g": ("green", "geese", "gather", "golden", "grain", "gently", "great", "gardens"),
    "l": ("little", "lions", "leap", "lazy", "lakes", "lightly", "long", "lanes"),
    "m": ("many", "mice", "make", "merry", "music", "mostly", "misty", "mountains"),
    "p": ("proud", "people", "paint", "purple", "pictures", "patiently", "pale", "paths"),
    "r": ("red", "rabbits", "run", "rapid", "rivers", "rarely", "rainy", "roads"),
    "s": ("silent", "snakes", "slide", "slowly", "softly", "silver", "streams", "seas"),
    "t": ("tall", "tigers", "travel", "through", "tiny", "towns", "today", "together"),
    "w": ("wild", "wolves", "wander", "warm", "winds", "where", "willows", "wait"),
}
FILLER = ("the", "old", "house", "by", "a", "quiet", "road", "was", "full", "of", "light", "and")
ENDINGS = ("tomorrow", "ocean", "window", "garden", "mountain", "river", "music", "morning", "candle", "harbor")
ACROSTICS = ("calm", "bird", "star", "wild", "frog", "lamp", "drum", "mist", "boat", "gift", "plum", "tree",
             "glow", "swim", "moon", "rain", "song", "wind", "fire", "snow", "leaf", "path", "nest", "home")
TOPICS = ("the sea", "winter", "a city at night", "friendship", "a garden", "trains", "the moon", "cooking", "rain",
          "mountains", "a library", "music", "autumn", "a market", "birds", "the desert")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
_MARKER = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _lines(text: str) -> list[str]:
    return [_MARKER.sub("", line).strip() for line in text.strip().splitlines() if line.strip()]


def satisfies(check: dict[str, Any], text: str) -> bool:
    """Whether ``text`` meets the constraint ``check`` (see the module doc)."""
    kind = check["kind"]
    if kind == "alliteration":
        found = words(text)
        return (len(found) == check["n"] and all(w.startswith(check["letter"]) for w in found)
                and check["word"] in found)
    if kind == "ending":
        found = words(text)
        return len(found) == check["n"] and bool(found) and found[-1] == check["word"]
    if kind == "acrostic":
        heads = []
        for line in _lines(text):
            first = _WORD.search(line)
            heads.append(first.group(0)[0].lower() if first else "")
        return "".join(heads) == check["word"]
    raise ValueError(f"unknown creative constraint {kind!r}")


def make(rng: random.Random, kind: str) -> tuple[str, str, dict[str, Any]]:
    """(prompt, reference answer, check) for one constraint of family ``kind``."""
    topic = rng.choice(TOPICS)
    if kind == "alliteration":
        letter = rng.choice(sorted(WORDS))
        n = rng.randint(3, 8)
        chosen = rng.sample(WORDS[letter], n)
        word = rng.choice(chosen)
        prompt = (f"Write exactly {n} words about {topic}. Every word must start with the letter "
                  f"'{letter.upper()}', and one of them must be the word '{word}'. Reply with the words only.")
        return prompt, " ".join(chosen).capitalize() + ".", {"kind": kind, "n": n, "letter": letter, "word": word}
    if kind == "ending":
        word = rng.choice(ENDINGS)
        n = rng.randint(4, 9)
        answer = " ".join([*FILLER[:n - 1], word]).capitalize() + "."
        prompt = (f"Write one sentence about {topic} of exactly {n} words whose last word is '{word}'. "
                  "Reply with the sentence only.")
        return prompt, answer, {"kind": kind, "n": n, "word": word}
    word = rng.choice(ACROSTICS)
    answer = "\n".join(" ".join(rng.sample(WORDS[ch], 3)).capitalize() for ch in word)
    prompt = (f"Write an acrostic about {topic} in {len(word)} short lines: the first letters of the lines, "
              f"read from top to bottom, must spell '{word.upper()}'. Reply with the lines only.")
    return prompt, answer, {"kind": kind, "word": word}


class CreativeSuite(Suite):
    domain: ClassVar[Domain] = "creative"
    source = "cogumi generator of constrained texts (alliteration, ending word, acrostic), checked by rules"
    sizes = SplitSizes(train=1000, validation=100, test=200)
    max_new_tokens = 64
    kinds: ClassVar[tuple[str, ...]] = ("alliteration", "ending", "acrostic")

    def _make(self, index: int) -> TaskItem:
        kind = self.kinds[index % len(self.kinds)]
        prompt, answer, check = make(self.rng(f"item:{index}"), kind)
        return TaskItem(id=f"creative/{kind}/{index}", domain=self.domain, prompt=prompt, answer=answer,
                        check=check_json(check), source=f"cogumi:creative-{kind}#{index}")

    def _build_split(self, name: SplitName) -> list[TaskItem]:
        return draw(self._make, self.sizes, name)

    def verify(self, item: TaskItem, completion: str) -> bool:
        return satisfies(item.data(), completion)
