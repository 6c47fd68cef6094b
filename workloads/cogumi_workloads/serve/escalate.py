"""Forwarding an escalated request to a configured OpenAI-compatible endpoint (a larger model).

Configured with ``--escalation-url`` (base URL ending in ``/v1``), ``--escalation-model`` and the
``COGUMI_ESCALATION_API_KEY`` environment variable. When the target fails, the deployment answers
itself and the metadata says why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from cogumi_workloads.serve.backends.base import GenRequest

if TYPE_CHECKING:
    from cogumi_workloads.serve.engine import Answer


@dataclass
class EscalationTarget:
    url: str
    model: str
    timeout_s: float = 120.0

    def ask(self, request: GenRequest, meta: dict[str, Any]) -> Answer | None:
        """The target's answer, or None (with ``meta['escalation_error']``) when it cannot give one."""
        from cogumi_workloads.serve.engine import Answer

        if request.messages is not None:
            path = "/chat/completions"
            body: dict[str, Any] = {"messages": [{"role": t.role, "content": t.content} for t in request.messages]}
        else:
            path, body = "/completions", {"prompt": request.prompt}
        body.update(model=self.model, max_tokens=request.max_tokens, temperature=request.temperature,
                    top_p=request.top_p)
        if request.stop:
            body["stop"] = list(request.stop)
        headers = {}
        key = os.environ.get("COGUMI_ESCALATION_API_KEY")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            response = httpx.post(self.url.rstrip("/") + path, json=body, headers=headers, timeout=self.timeout_s)
            response.raise_for_status()
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"]["content"] if request.messages is not None else choice["text"]
            usage = data.get("usage") or {}
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            meta["escalation_error"] = f"{type(exc).__name__}: {exc}"
            return None
        meta["answered_by"] = {"target": self.url, "model": self.model}
        return Answer(str(text or ""), str(choice.get("finish_reason") or "stop"),
                      int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))
