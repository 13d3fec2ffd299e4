"""The API's error responses: one JSON shape, ``{"error": <code>, "detail": <text>}``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorBody(BaseModel):
    error: str
    detail: str


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers

    @classmethod
    def unauthorized(cls, detail: str) -> ApiError:
        return cls(401, "unauthorized", detail, {"WWW-Authenticate": "Bearer"})

    @classmethod
    def forbidden(cls, detail: str) -> ApiError:
        return cls(403, "forbidden", detail)

    @classmethod
    def not_found(cls, detail: str) -> ApiError:
        return cls(404, "not_found", detail)

    @classmethod
    def bad_request(cls, detail: str) -> ApiError:
        return cls(400, "bad_request", detail)

    @classmethod
    def conflict(cls, detail: str) -> ApiError:
        return cls(409, "conflict", detail)

    @classmethod
    def unavailable(cls, detail: str) -> ApiError:
        return cls(503, "unavailable", detail)


_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    503: "unavailable",
}


async def http_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (unparsable body, unknown route) in the API's error shape."""
    assert isinstance(exc, StarletteHTTPException)
    code = _ERROR_CODES.get(exc.status_code, "error")
    return JSONResponse(
        {"error": code, "detail": str(exc.detail)},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def api_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        {"error": exc.error, "detail": exc.detail}, status_code=exc.status, headers=exc.headers
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error statuses a route may answer."""
    descriptions = {
        400: "Bad request",
        401: "Missing, unknown or revoked token",
        403: "The token's role may not do this",
        404: "No such scope, ward or alert",
        409: "Conflicts with the current state",
        413: "Body or batch too large",
        503: "A dependency (Kafka, the database) is unavailable",
    }
    return {s: {"model": ErrorBody, "description": descriptions[s]} for s in statuses}
