"""OpenAI-compatible teacher endpoints: one chat completion per call, with its tokens and price.

A teacher is a ``url``, or an ``endpoint: {fromResource: ModelDeployment/<name>}`` that the operator
resolves once the deployment is Ready: the stage receives its URL as the endpoint named after the
field's path (``spec.teachers[1].endpoint``), see :func:`resolve_url`.

API keys never travel in a spec. A teacher with ``apiKeySecret`` reads its key from the
environment variable :func:`api_key_env` names, ``COGUMI_TEACHER_<NAME>_API_KEY`` (the teacher's
name upper-cased, every character outside ``A-Z0-9`` replaced by ``_``; ``tier2-large`` →
``COGUMI_TEACHER_TIER2_LARGE_API_KEY``). In a cluster the operator injects it into the stage
Job from the Secret's key; locally you export it before ``cogumi run``. The key is sent as
``Authorization: Bearer <key>`` and never logged: errors name the endpoint and the HTTP status only.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass

import httpx

from cogumi_api.common import Teacher
from cogumi_workloads.runtime.errors import PermanentError, RetryableError

TIMEOUT_S = 300.0
RETRIES = 2
CHAT_OVERHEAD_TOKENS = 32
"""Tokens a chat template adds around the messages, counted in the worst-case cost of a call."""


TUTOR = ("You are an expert tutor. Solve the task correctly. When it needs working, think it through in a few short "
         "steps first; then give the final answer exactly in the format the task asks for.")
"""The system prompt of teachers answering tasks (the cascade and the distillation pairs)."""


def resolve_url(teacher: Teacher, path: str, endpoints: dict[str, str]) -> str:
    """The OpenAI base URL (ending in ``/v1``) of the teacher at spec path ``path``."""
    url = teacher.url
    if url is None:
        url = endpoints.get(f"{path}.endpoint")
        if not url:
            target = teacher.endpoint.from_resource if teacher.endpoint else "?"
            raise RetryableError(f"{path}.endpoint: no URL was passed for {target} (it was not Ready when this stage "
                                 "started); the operator retries the stage")
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def api_key_env(name: str) -> str:
    """The environment variable holding the API key of teacher ``name``."""
    return "COGUMI_TEACHER_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY"


class TeacherError(Exception):
    """A call that returned no usable answer (unreachable, HTTP error, malformed response)."""


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    finish_reason: str = "stop"
    """``length`` when the reply was cut off at ``maxTokens``."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class TeacherClient:
    """Chat completions against one teacher, with the price and the worst-case cost of a call."""

    def __init__(self, teacher: Teacher, system: str | None = None, timeout: float = TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None, url: str | None = None) -> None:
        """``url``: the resolved base URL (:func:`resolve_url`); ``teacher.url`` when not given."""
        self.teacher = teacher
        self.system = system
        self.url = url or teacher.url or ""
        if not self.url:
            raise PermanentError(f"teacher {teacher.name!r} has no URL; resolve its endpoint with resolve_url()")
        headers = {"Content-Type": "application/json"}
        if teacher.api_key_secret is not None:
            env = api_key_env(teacher.name)
            key = os.environ.get(env)
            if not key:
                raise PermanentError(
                    f"teacher {teacher.name!r} names Secret {teacher.api_key_secret.name!r} key "
                    f"{teacher.api_key_secret.key!r}, but environment variable {env} (where the Job receives "
                    "it) is not set")
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(base_url=self.url.rstrip("/"), headers=headers, timeout=timeout,
                                    transport=transport)
        self._model = teacher.model
        self._tokens_per_char = 1.0
        """Upper bound of prompt tokens per character, tightened from the usage the server reports."""

    @property
    def name(self) -> str:
        return self.teacher.name

    def close(self) -> None:
        self._client.close()

    def model_id(self) -> str:
        """``model``, else the first model the endpoint lists (``GET /models``: a ModelDeployment answers to its
        server's name), else ``default``."""
        if self._model is None:
            try:
                listed = self._client.get("/models")
                data = listed.json().get("data") if listed.status_code == 200 else None
                self._model = str(data[0]["id"]) if data else "default"
            except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError, AttributeError):
                return "default"  # unreachable now: the call that follows fails and is counted
        return self._model

    def messages(self, prompt: str) -> list[dict[str, str]]:
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return [*msgs, {"role": "user", "content": prompt}]

    def worst_case_cost(self, prompt: str) -> float:
        """The most a call for ``prompt`` can cost: its prompt tokens (bounded) plus ``maxTokens``."""
        chars = len(prompt) + len(self.system or "")
        tokens = math.ceil(chars * self._tokens_per_char) + CHAT_OVERHEAD_TOKENS + self.teacher.max_tokens
        return tokens / 1000 * self.teacher.price_per_1k_tokens

    def complete(self, prompt: str, seed: int | None = None) -> Completion:
        """One chat completion at the teacher's temperature; :class:`TeacherError` when no answer came back."""
        body: dict[str, object] = {"model": self.model_id(), "messages": self.messages(prompt),
                                   "max_tokens": self.teacher.max_tokens, "temperature": self.teacher.temperature}
        if seed is not None:
            body["seed"] = seed
        data = self._post(body)
        try:
            text = data["choices"][0]["message"]["content"] or ""
            finish = str(data["choices"][0].get("finish_reason") or "stop")
            usage = data.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens", 0))
            completion_tokens = int(usage.get("completion_tokens", 0))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise TeacherError(f"teacher {self.name!r} returned a malformed completion: {exc!r}") from exc
        if not usage:  # no usage reported: charge the worst case rather than nothing
            prompt_tokens = math.ceil((len(prompt) + len(self.system or "")) * self._tokens_per_char)
            completion_tokens = self.teacher.max_tokens
        chars = len(prompt) + len(self.system or "")
        if usage and chars:
            self._tokens_per_char = max(0.25, min(1.0, 1.25 * prompt_tokens / chars))
        cost = (prompt_tokens + completion_tokens) / 1000 * self.teacher.price_per_1k_tokens
        return Completion(text.strip(), prompt_tokens, completion_tokens, cost, finish)

    def _post(self, body: dict[str, object]) -> dict:
        last = ""
        for attempt in range(RETRIES + 1):
            try:
                response = self._client.post("/chat/completions", json=body)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise TeacherError(f"teacher {self.name!r} answered with invalid JSON") from exc
                last = f"HTTP {response.status_code}"
                if response.status_code in (400, 401, 403, 404, 422):
                    break  # the same request cannot succeed on a retry
            if attempt < RETRIES:
                time.sleep(0.5 * 2 ** attempt)
        raise TeacherError(f"teacher {self.name!r} at {self.url} failed: {last}")
