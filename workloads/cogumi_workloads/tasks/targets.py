"""What an Evaluation measures: an HF folder, a GGUF file, or a deployment's OpenAI-compatible API.

Every target answers one chat prompt (a single user message, greedy) and says how many tokens it
generated in how many wall seconds, so the suites and the speed stage go through the same path:

- ``hf``: transformers. Suites run through the shared batched evaluation function
  (:func:`cogumi_workloads.tasks.evaluate.evaluate`); single prompts (speed) through the server's
  HF backend (``generate`` with the model's chat template);
- ``gguf``: llama-cpp-python through the server's GGUF backend (the model's own chat template);
- ``api``: ``POST <url>/v1/chat/completions`` with a plain HTTP client (httpx), ``temperature 0``;
  the model name is the first one ``GET <url>/v1/models`` lists (a Cogumi deployment lists its
  routed name first). Tokens are the response's ``usage.completion_tokens``; seconds include HTTP.

Answers of ``gguf`` and ``api`` targets are verified by the suite's verifier and summarised by the
same function as ``hf`` (:func:`cogumi_workloads.tasks.evaluate.summarise`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from cogumi_api.common import ModelRef
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError, RetryableError
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.tasks.base import Suite, TaskItem
from cogumi_workloads.tasks.evaluate import EvalResult, ItemOutcome, summarise

TargetKind = Literal["hf", "gguf", "api"]
API_TIMEOUT_S = 600.0
EVAL_BATCH_SIZE = 16
"""Prompts per generation batch for HF suites (the value the other model stages use)."""


@dataclass(frozen=True)
class Target:
    field: str
    """The spec field it comes from (`spec.model`, `spec.baseline`, `spec.deployment`), for messages."""
    kind: TargetKind
    name: str
    """What is evaluated: the model's URI or the deployment's name and URL."""
    path: Path | None = None
    url: str | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    completion_tokens: int | None
    """None when an API reports no usage."""
    seconds: float


def _is_gguf(path: Path) -> bool:
    if path.is_file():
        return path.suffix == ".gguf"
    return not (path / "config.json").is_file() and any(path.glob("*.gguf"))


def model_target(ctx: StageContext[Any], ref: ModelRef, field: str, backend: str) -> Target:
    """The model of ``field`` (fetched or resolved from a verified input), run by ``backend`` (auto: by format)."""
    from cogumi_workloads.training.modelio import model_path

    path = model_path(ctx, ref, field)
    kind: TargetKind = "gguf" if ref.format == "gguf" or _is_gguf(path) else "hf"
    if backend != "auto":
        kind = "gguf" if backend == "gguf" else "hf"
    if kind == "hf" and not (path / "config.json").is_file():
        raise PermanentError(f"{field}: {path} is not a Hugging Face folder (no config.json); for a GGUF file set "
                             f"spec.backend to gguf or auto and {field}.format to gguf")
    if kind == "gguf" and not _is_gguf(path):
        raise PermanentError(f"{field}: {path} is neither a .gguf file nor a folder with one; set spec.backend to "
                             "hf (or auto) for a Hugging Face folder")
    return Target(field, kind, ref.uri or ref.from_resource or str(path), path=path)


def deployment_target(ctx: StageContext[Any], name: str) -> Target:
    """The deployment ``name`` at the URL the operator resolved (``invocation.endpoints['spec.deployment']``)."""
    url = ctx.invocation.endpoints.get("spec.deployment")
    if not url:
        raise RetryableError(f"spec.deployment: no URL was passed for ModelDeployment {name!r} (it was not Ready "
                             "when this stage started); the operator retries the stage")
    base = url.rstrip("/").removesuffix("/v1")
    return Target("spec.deployment", "api", f"ModelDeployment/{name} at {base}", url=base)


class Answerer(Protocol):
    name: str

    def answer(self, prompt: str, max_tokens: int) -> Reply: ...

    def close(self) -> None: ...


class BackendAnswerer:
    """A model loaded by the server's own backend (HF or GGUF), no adapters."""

    def __init__(self, target: Target, n_ctx: int = 4096) -> None:
        from cogumi_workloads.serve.backends import load_backend

        assert target.path is not None and target.kind != "api"
        self.name = target.name
        self.backend = load_backend(target.kind, target.path, {}, n_ctx=n_ctx)

    def answer(self, prompt: str, max_tokens: int) -> Reply:
        from cogumi_workloads.serve.backends.base import GenRequest, Turn, collect

        request = GenRequest(messages=(Turn("user", prompt),), max_tokens=max_tokens, temperature=0.0)
        gen = collect(self.backend.stream(request))
        return Reply(gen.text.strip(), gen.completion_tokens, gen.seconds)

    def close(self) -> None:
        self.backend.close()


class ApiAnswerer:
    """Chat completions against an OpenAI-compatible server (a ModelDeployment)."""

    def __init__(self, target: Target, timeout: float = API_TIMEOUT_S, transport: Any = None) -> None:
        import httpx

        assert target.url is not None
        self.name, self.field, self._httpx = target.name, target.field, httpx
        self._client = httpx.Client(base_url=target.url, timeout=timeout, transport=transport)
        models = self._call("GET", "/v1/models").get("data") or []
        if not models or not isinstance(models[0], dict) or not models[0].get("id"):
            raise PermanentError(f"{self.field}: {self.name} lists no model at /v1/models; is it an "
                                 "OpenAI-compatible server?")
        self.model = str(models[0]["id"])

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            resp = self._client.request(method, path, json=body)
        except self._httpx.HTTPError as exc:
            raise RetryableError(f"{self.field}: {self.name} did not answer {path}: {type(exc).__name__}: {exc}") \
                from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise RetryableError(f"{self.field}: {self.name} answered {path} with HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise PermanentError(f"{self.field}: {self.name} refused {path} with HTTP {resp.status_code}: "
                                 f"{resp.text[:300]}")
        try:
            data = resp.json()
        except ValueError as exc:
            raise PermanentError(f"{self.field}: {self.name} answered {path} with invalid JSON") from exc
        if not isinstance(data, dict):
            raise PermanentError(f"{self.field}: {self.name} answered {path} with a JSON {type(data).__name__}")
        return data

    def answer(self, prompt: str, max_tokens: int) -> Reply:
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
                "temperature": 0, "seed": 0}
        start = time.perf_counter()
        data = self._call("POST", "/v1/chat/completions", body)
        seconds = time.perf_counter() - start
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise PermanentError(f"{self.field}: {self.name} returned a chat completion without "
                                 "choices[0].message.content") from exc
        tokens = (data.get("usage") or {}).get("completion_tokens")
        return Reply(str(text).strip(), int(tokens) if isinstance(tokens, (int, float)) else None, seconds)

    def close(self) -> None:
        self._client.close()


def answerer(target: Target) -> Answerer:
    return ApiAnswerer(target) if target.kind == "api" else BackendAnswerer(target)


@dataclass
class Scorer:
    """Scores one target on task items; loads it once, on first use."""

    target: Target
    log: JsonLogger
    _lm: Any = None
    _answerer: Answerer | None = field(default=None, repr=False)

    def suite(self, suite: Suite, items: Sequence[TaskItem], max_new_tokens: int) -> EvalResult:
        if self.target.kind == "hf":
            from cogumi_workloads.tasks.evaluate import evaluate, load_model

            assert self.target.path is not None
            if self._lm is None:
                self._lm = load_model(self.target.path, self.log)
                self._lm.name = self.target.name
            return evaluate(self._lm, suite, items=items, max_new_tokens=max_new_tokens, log=self.log,
                            batch_size=EVAL_BATCH_SIZE)
        if self._answerer is None:
            self._answerer = answerer(self.target)
        start = time.monotonic()
        outcomes = []
        for item in items:
            text = self._answerer.answer(item.prompt, max_new_tokens).text
            outcomes.append(ItemOutcome(id=item.id, correct=suite.verify(item, text), completion=text))
        return summarise(outcomes, domain=suite.domain, split="test", model=self.target.name,
                         seconds=time.monotonic() - start, batch_size=1, max_new_tokens=max_new_tokens, log=self.log)

    def close(self) -> None:
        if self._answerer is not None:
            self._answerer.close()
        self._lm = None
