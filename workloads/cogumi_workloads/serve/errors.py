"""Typed API errors with their HTTP status, rendered in OpenAI's error shape.

``{"error": {"message", "type", "param", "code"}}``; invalid requests are 4xx, never 500.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import ValidationError

from cogumi_workloads.serve import metrics


class ApiError(Exception):
    status = 500
    type = "server_error"
    code: str | None = "internal_error"

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param = message, param
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        metrics.ERRORS.labels(self.type, self.code or "").inc()
        return JSONResponse(self.body(), status_code=self.status)


class InvalidRequest(ApiError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_value"


class ModelNotFound(ApiError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class NotFound(ApiError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class Unsupported(ApiError):
    status = 422
    type = "invalid_request_error"
    code = "unsupported"


class PayloadTooLarge(ApiError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class Overloaded(ApiError):
    status = 503
    type = "server_error"
    code = "overloaded"


class BackendFailure(ApiError):
    status = 500
    type = "server_error"
    code = "generation_failed"


_SCALARS = frozenset({"str", "int", "float", "bool", "none"})


def _union_tag(part: object) -> bool:
    """Whether a location part names a union member (``str``, ``list[str]``, ``TextPart``), not a field."""
    return isinstance(part, str) and (part in _SCALARS or "[" in part or part[:1].isupper())


def from_validation(exc: ValidationError) -> InvalidRequest:
    """The first problem of a pydantic validation error as an OpenAI ``invalid_request_error``."""
    # A value that fits no member of a union gets one error per member; the constraint error
    # ("at most 8 items") says more than the type errors of the other members ("not a string").
    errors = sorted(exc.errors(include_url=False), key=lambda e: str(e.get("type", "")).endswith("_type"))
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": "value_error"}
    param = ".".join(str(p) for p in first["loc"] if not _union_tag(p)) or None
    kind = str(first.get("type", ""))
    code = "missing_required_parameter" if kind == "missing" else "invalid_value"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    where = f"{param}: " if param else ""
    return InvalidRequest(f"{where}{first['msg']}{more}", param=param, code=code)
