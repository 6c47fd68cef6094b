"""OpenAI-compatible routes on KServe's FastAPI app: /v1/chat/completions, /v1/completions, /v1/models.

Responses carry Cogumi's decisions in a ``cogumi`` field (the OpenAI clients keep unknown fields)
and in headers: ``x-cogumi-route``, ``x-cogumi-confidence``, ``x-cogumi-mode``, ``x-cogumi-escalated``.
Streams are server-sent events in OpenAI's chunk format ending with ``data: [DONE]``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.serve import metrics
from cogumi_workloads.serve.backends.base import Piece, Turn
from cogumi_workloads.serve.engine import Answer, Engine, Plan
from cogumi_workloads.serve.errors import ApiError, BackendFailure, InvalidRequest, PayloadTooLarge, from_validation
from cogumi_workloads.serve.schemas import ChatCompletionRequest, CompletionRequest

log = logging.getLogger("cogumi.serve")
MAX_BODY = 4 << 20
GENERATION_ERRORS = (PermanentError, RuntimeError, OSError, ValueError)


async def parse(request: Request, schema: type[BaseModel]) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(f"request body exceeds {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"We could not parse the JSON body of your request: {exc}", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("the request body must be a JSON object", code="invalid_json")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from exc


def headers(plan: Plan) -> dict[str, str]:
    d = plan.decision
    return {"x-cogumi-route": d.modifier or "base", "x-cogumi-mode": plan.mode,
            "x-cogumi-confidence": "" if d.confidence is None else f"{d.confidence:.4f}",
            "x-cogumi-escalated": "true" if plan.escalated() else "false"}


def to_turns(req: ChatCompletionRequest) -> list[Turn]:
    role = {"developer": "system", "tool": "user"}
    return [Turn(role.get(m.role, m.role), m.text()) for m in req.messages]  # type: ignore[arg-type]


def _sse(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _usage(answers: list[Answer]) -> dict[str, int]:
    prompt = answers[0].prompt_tokens if answers else 0
    completion = sum(a.completion_tokens for a in answers)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def build_router(engine: Engine) -> APIRouter:
    router = APIRouter()

    def plan_for(req: Any, request: Request, messages: list[Turn] | None, prompt: str | None) -> Plan:
        session = request.headers.get("x-session-id") or req.user
        return engine.plan(model=req.model, messages=messages, prompt=prompt, max_tokens=req.limit(),
                           temperature=req.temperature, top_p=req.top_p, n=req.n, stop=req.stops(), seed=req.seed,
                           mode=req.mode or request.headers.get("x-cogumi-mode"), session=session)

    async def handle(endpoint: str, request: Request, work: Callable[[], Any]) -> Response:
        start = time.perf_counter()
        metrics.IN_FLIGHT.inc()
        mode, stream = "-", "false"
        try:
            response, mode, stream = await work()
        except ApiError as exc:
            response = exc.response()
        except GENERATION_ERRORS as exc:
            log.exception("generation failed")
            response = BackendFailure(f"generation failed: {exc}").response()
        finally:
            metrics.IN_FLIGHT.dec()
        metrics.REQUESTS.labels(endpoint, str(response.status_code)).inc()
        if stream == "false":  # a stream records its latency when its last event is sent
            metrics.REQUEST_SECONDS.labels(endpoint, mode, stream).observe(time.perf_counter() - start)
        return response

    def stream_response(plans: list[Plan], obj: str, rid: str, created: int, model: str,
                        include_usage: bool, chat: bool, endpoint: str) -> StreamingResponse:
        start = time.perf_counter()

        def chunk(index: int, text: str | None, finish: str | None, extra: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
            if chat:
                delta: dict[str, Any] = {} if text is None else {"content": text}
                if text == "" and finish is None:
                    delta = {"role": "assistant", "content": ""}
                choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish}
            else:
                choice = {"index": index, "text": text or "", "finish_reason": finish}
            body = {"id": rid, "object": obj, "created": created, "model": model, "choices": [choice]}
            return {**body, **(extra or {})}

        async def events() -> AsyncIterator[bytes]:
            usage = {"prompt_tokens": 0, "completion_tokens": 0}
            for index, plan in enumerate(plans):
                if chat:
                    yield _sse(chunk(index, "", None))
                pieces: Iterator[Piece] = engine.stream(plan)
                try:
                    async for piece in iterate_in_threadpool(pieces):
                        if piece.text:
                            yield _sse(chunk(index, piece.text, None))
                        if piece.finish_reason is not None:
                            usage["prompt_tokens"] = max(usage["prompt_tokens"], piece.prompt_tokens)
                            usage["completion_tokens"] += piece.completion_tokens
                            yield _sse(chunk(index, None, piece.finish_reason, {"cogumi": engine.metadata(plan)}))
                except GENERATION_ERRORS as exc:
                    log.exception("generation failed mid-stream")
                    yield _sse(BackendFailure(f"generation failed: {exc}").body())
                    break
            if include_usage:
                total = usage["prompt_tokens"] + usage["completion_tokens"]
                yield _sse({"id": rid, "object": obj, "created": created, "model": model, "choices": [],
                            "usage": {**usage, "total_tokens": total}})
            yield b"data: [DONE]\n\n"
            metrics.REQUEST_SECONDS.labels(endpoint, plans[0].mode, "true").observe(time.perf_counter() - start)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={**headers(plans[0]), "cache-control": "no-cache"})

    @router.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        async def work() -> tuple[Response, str, str]:
            req: ChatCompletionRequest = await parse(request, ChatCompletionRequest)
            plan = await run_in_threadpool(plan_for, req, request, to_turns(req), None)
            rid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
            if req.stream:
                plans = [plan] + [replace(plan, request=replace(plan.request, seed=(plan.request.seed or 0) + i),
                                          meta={}) for i in range(1, req.n)]
                include = bool(req.stream_options and req.stream_options.include_usage)
                resp = stream_response(plans, "chat.completion.chunk", rid, created, req.model, include, True,
                                       "chat.completions")
                return resp, plan.mode, "true"
            answers = await run_in_threadpool(engine.answer, plan)
            for a in answers:
                plan.meta.update(a.meta)
            body = {"id": rid, "object": "chat.completion", "created": created, "model": req.model,
                    "choices": [{"index": i, "message": {"role": "assistant", "content": a.text},
                                 "finish_reason": a.finish_reason, "logprobs": None} for i, a in enumerate(answers)],
                    "usage": _usage(answers), "cogumi": engine.metadata(plan)}
            return JSONResponse(body, headers=headers(plan)), plan.mode, "false"

        return await handle("chat.completions", request, work)

    @router.post("/v1/completions")
    async def completions(request: Request) -> Response:
        async def work() -> tuple[Response, str, str]:
            req: CompletionRequest = await parse(request, CompletionRequest)
            plans = [await run_in_threadpool(plan_for, req, request, None, p) for p in req.prompts()]
            rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
            if req.stream:
                expanded = [replace(p, request=replace(p.request, seed=(p.request.seed or 0) + i), meta={})
                            for p in plans for i in range(req.n)]
                include = bool(req.stream_options and req.stream_options.include_usage)
                return stream_response(expanded, "text_completion", rid, created, req.model, include,
                                       False, "completions"), plans[0].mode, "true"
            choices, all_answers = [], []
            for plan, prompt in zip(plans, req.prompts(), strict=True):
                answers = await run_in_threadpool(engine.answer, plan)
                for a in answers:
                    plan.meta.update(a.meta)
                    choices.append({"index": len(choices), "text": (prompt if req.echo else "") + a.text,
                                    "finish_reason": a.finish_reason, "logprobs": None})
                all_answers += answers
            body = {"id": rid, "object": "text_completion", "created": created, "model": req.model,
                    "choices": choices, "usage": _usage(all_answers), "cogumi": engine.metadata(plans[0])}
            return JSONResponse(body, headers=headers(plans[0])), plans[0].mode, "false"

        return await handle("completions", request, work)

    @router.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        created = int(time.time())
        data = [{"id": name, "object": "model", "created": created, "owned_by": "cogumi"}
                for name in engine.model_names()]
        # "models" keeps KServe's v1 listing (this route shadows KServe's GET /v1/models).
        return {"object": "list", "data": data, "models": [engine.settings.name]}

    return router
