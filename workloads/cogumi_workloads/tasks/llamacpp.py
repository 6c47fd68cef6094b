"""Evaluation through llama.cpp, as a ModelDeployment serves: a GGUF base with an optional GGUF LoRA.

Generation goes through the server's own backend (:class:`~cogumi_workloads.serve.backends.gguf.GGUFBackend`):
each prompt as one user message in the model's chat template, greedy (temperature 0), stopped at
the model's end of turn, at the suite's token budget, or once the suite says more text cannot
change its verdict (:meth:`Suite.settled`). llama-cpp-python decodes one sequence at a time; the
model is loaded once per evaluation and adapters switch without reloading it.

Completions are cached on disk (:class:`EvalCache`): a repeat evaluation of the same GGUF (by
sha256), adapter (by sha256), items (ids and prompts), token budget and llama-cpp-python version
is read back instead of generated again. The verifier runs on every read, so a fixed verifier
never sees stale verdicts.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from cogumi_workloads.assets.store import cache_root, locked
from cogumi_workloads.runtime.digest import sha256_file
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger, progress
from cogumi_workloads.runtime.uris import atomic_write_text, gguf_file
from cogumi_workloads.tasks.base import SplitName, Suite, TaskItem
from cogumi_workloads.tasks.evaluate import EvalResult, ItemOutcome, summarise

if TYPE_CHECKING:
    from cogumi_workloads.serve.backends.gguf import GGUFBackend

N_CTX = 2048


def _engine_version() -> str:
    try:
        return f"llama-cpp-python=={version('llama_cpp_python')}"
    except PackageNotFoundError as exc:
        raise PermanentError("evaluating a GGUF needs llama-cpp-python (the project's `compress` extra; "
                             ".ci/bootstrap builds and caches its wheel)") from exc


@cache
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    """sha256 of a file, once per process for the same path, size and modification time."""
    return sha256_file(path)


class EvalCache:
    """Completions by (model, adapter, items, budget, engine), one JSON file each under ``folder``."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or cache_root() / "evals"
        self.hits = 0
        self.misses = 0

    @staticmethod
    def digest(path: Path) -> str:
        resolved = path.resolve()
        stat = resolved.stat()
        return _file_digest(resolved, stat.st_size, stat.st_mtime_ns)

    def key(self, model: Path, adapter: Path | None, items: Sequence[TaskItem], max_new_tokens: int) -> str:
        doc = {"engine": _engine_version(), "model": self.digest(model),
               "adapter": self.digest(adapter) if adapter is not None else None, "maxNewTokens": max_new_tokens,
               "items": hashlib.sha256(json.dumps([[i.id, i.prompt] for i in items]).encode()).hexdigest()}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def get(self, key: str) -> list[str] | None:
        path = self.folder / f"{key}.json"
        try:
            completions = json.loads(path.read_text(encoding="utf-8"))["completions"]
        except (OSError, ValueError, KeyError):
            self.misses += 1
            return None
        self.hits += 1
        return [str(c) for c in completions]

    def put(self, key: str, completions: Sequence[str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.folder / f"{key}.json", json.dumps({"completions": list(completions)}) + "\n")


class GgufEvaluator:
    """One GGUF base loaded once, with named GGUF LoRAs, scoring suites item by item."""

    def __init__(self, model: Path, adapters: Mapping[str, Path] | None = None, *, threads: int | None = None,
                 cache: EvalCache | None = None, log: JsonLogger | None = None) -> None:
        self.model = gguf_file(model)
        self.adapters = {name: gguf_file(path) for name, path in (adapters or {}).items()}
        self.threads = threads
        self.cache = cache if cache is not None else EvalCache()
        self.log = log or JsonLogger("evaluate")
        self._backend: GGUFBackend | None = None

    def _loaded(self) -> GGUFBackend:
        if self._backend is None:
            from cogumi_workloads.serve.backends.gguf import GGUFBackend

            self._backend = GGUFBackend(self.model, self.adapters, threads=self.threads, n_ctx=N_CTX)
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def __enter__(self) -> GgufEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def completions(self, suite: Suite, items: Sequence[TaskItem], adapter: str | None, budget: int,
                    desc: str) -> list[str]:
        from cogumi_workloads.serve.backends.base import GenRequest, Turn

        if adapter is not None and adapter not in self.adapters:
            raise PermanentError(f"adapter {adapter!r} is not loaded (loaded: {', '.join(self.adapters) or 'none'})")
        key = self.cache.key(self.model, self.adapters.get(adapter) if adapter else None, items, budget)
        with locked(self.cache.folder / ".locks" / f"{key}.lock", self.log):
            cached = self.cache.get(key)
            if cached is not None and len(cached) == len(items):
                self.log.info("evaluation cache hit", desc=desc, items=len(items))
                return cached
            backend = self._loaded()
            out: list[str] = []
            for item in progress(items, self.log, desc, total=len(items)):
                request = GenRequest(messages=(Turn("user", item.prompt),), adapter=adapter, max_tokens=budget,
                                     temperature=0.0)
                parts: list[str] = []
                stream = backend.stream(request)
                try:
                    for piece in stream:
                        parts.append(piece.text)
                        if suite.settled("".join(parts)):
                            break
                finally:
                    stream.close()
                out.append("".join(parts).strip())
            self.cache.put(key, out)
            return out

    def evaluate(self, suite: Suite, items: Sequence[TaskItem], *, split: SplitName | str = "test",
                 adapter: str | None = None, name: str | None = None, max_new_tokens: int | None = None) -> EvalResult:
        """Accuracy of the base (``adapter=None``) or base + ``adapter`` on ``items``, with its Wilson interval."""
        budget = max_new_tokens or suite.max_new_tokens
        label = name or (f"{self.model.name}+{adapter}" if adapter else self.model.name)
        start = time.monotonic()
        texts = self.completions(suite, items, adapter, budget, f"{suite.domain} {label} ({len(items)} items)")
        outcomes = [ItemOutcome(id=item.id, correct=suite.verify(item, text), completion=text)
                    for item, text in zip(items, texts, strict=True)]
        return summarise(outcomes, domain=suite.domain, split=str(split), model=label,
                         seconds=time.monotonic() - start, batch_size=1, max_new_tokens=budget, log=self.log)
