"""The deployment as a ``kserve.Model``: ``load`` builds the engine, ``predict`` answers the KServe
v1 and v2 protocols (the OpenAI routes use the same engine).

v1: ``{"instances": ["text", {"prompt": "text", "model": "...", "max_tokens": 64, "mode": "fast"}]}``
→ ``{"predictions": [{"text", "finish_reason", "cogumi"}]}``.
v2: a BYTES input (any name, one prompt per element) → a BYTES output ``text``; optional request
parameters ``model``, ``max_tokens``, ``mode``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import kserve
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse
from starlette.concurrency import run_in_threadpool

from cogumi_workloads.serve.engine import Engine
from cogumi_workloads.serve.errors import ApiError


class CogumiModel(kserve.Model):
    def __init__(self, name: str, build: Callable[[], Engine]) -> None:
        super().__init__(name)
        self._build = build
        self.engine: Engine | None = None

    def load(self) -> bool:
        self.engine = self._build()
        self.ready = True
        return self.ready

    def _complete(self, prompt: str, options: dict[str, Any]) -> dict[str, Any]:
        assert self.engine is not None, "predict before load"
        try:
            plan = self.engine.plan(
                model=str(options.get("model") or self.name), messages=None, prompt=prompt,
                max_tokens=int(options["max_tokens"]) if "max_tokens" in options else None,
                temperature=float(options["temperature"]) if "temperature" in options else None, top_p=None, n=1,
                stop=(), seed=int(options["seed"]) if "seed" in options else None,
                mode=options.get("mode"), session=options.get("session"))
            answer = self.engine.answer(plan)[0]
        except ApiError as exc:
            raise InvalidInput(exc.message) from exc
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"invalid option: {exc}") from exc
        plan.meta.update(answer.meta)
        return {"text": answer.text, "finish_reason": answer.finish_reason, "cogumi": self.engine.metadata(plan)}

    async def predict(self, payload: dict[str, Any] | InferRequest, headers: dict[str, str] | None = None,
                      response_headers: dict[str, str] | None = None) -> dict[str, Any] | InferResponse:
        if isinstance(payload, InferRequest):
            return await self._predict_v2(payload)
        instances = payload.get("instances") if isinstance(payload, dict) else None
        if not isinstance(instances, list) or not instances:
            raise InvalidInput('expected {"instances": [...]} with at least one prompt')
        predictions = []
        for item in instances:
            if isinstance(item, str):
                prompt, options = item, {}
            elif isinstance(item, dict) and isinstance(item.get("prompt"), str):
                prompt, options = item["prompt"], item
            else:
                raise InvalidInput('each instance must be a string or an object with a string "prompt"')
            predictions.append(await run_in_threadpool(self._complete, prompt, options))
        return {"predictions": predictions}

    async def _predict_v2(self, request: InferRequest) -> InferResponse:
        options = dict(request.parameters or {})
        texts: list[str] = []
        for tensor in request.inputs:
            if tensor.datatype != "BYTES":
                raise InvalidInput(f"input {tensor.name!r} must be BYTES (text), not {tensor.datatype}")
            for item in _flatten(tensor.data):
                prompt = item.decode("utf-8") if isinstance(item, bytes) else str(item)
                result = await run_in_threadpool(self._complete, prompt, options)
                texts.append(result["text"])
        output = InferOutput(name="text", shape=[len(texts)], datatype="BYTES", data=texts)
        return InferResponse(response_id=str(request.id or uuid.uuid4()), model_name=self.name,
                             infer_outputs=[output])


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, list | tuple):
        return [x for item in data for x in _flatten(item)]
    return [data]
