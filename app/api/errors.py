"""Domain errors become 4xx answers in one place: a JSON body naming the problem and the fix.
A bug stays a 500, logged with its traceback."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.errors import USER_ERRORS
from infra.errors import UserError
from infra.store import NotFoundError
from model.images import ImageError


class TooLargeError(UserError):
    """An upload over the limit."""


class UnauthorizedError(UserError):
    """No API key, or the wrong one."""


class QueueFullError(UserError):
    """More photos waiting than the pool takes: not the user's mistake, but answered the same
    way (a Problem body, no traceback), as a 503 with the seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the photo queue is full: retry in {retry_after} s.")
        self.retry_after = retry_after


def status_of(exc: Exception) -> int:
    if isinstance(exc, UnauthorizedError):
        return 401
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, TooLargeError):
        return 413
    if isinstance(exc, ImageError):
        return 415
    if isinstance(exc, QueueFullError):
        return 503
    return 400


# Every error status an operation can answer, with its body, so that a client generated from
# /openapi.json knows them (FastAPI itself declares only 200 and 422).
WHY: dict[int, str] = {
    400: "A query the index cannot answer as asked (an unknown field, a bad filter or vector).",
    401: "No API key, or the wrong one (when LOOKALIKE_API_KEY is set).",
    404: "An unknown item id.",
    413: "An upload over the size limit.",
    415: "An upload that is not a readable PNG, JPEG or WebP image.",
    422: "A parameter or body of the wrong type or out of range.",
    503: "No index is loaded and answering yet, or (photos) the queue is full: retry after "
    "the Retry-After header's seconds.",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of an operation that can fail with ``statuses`` (and 422)."""
    from app.api.schemas import Problem

    return {code: {"model": Problem, "description": WHY[code]} for code in (*statuses, 422)}


def problem(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse({"error": message, "status": status}, status, headers=headers)


def install(app: FastAPI) -> None:
    async def user_error(request: Request, exc: Exception) -> JSONResponse:
        wait = exc.retry_after if isinstance(exc, QueueFullError) else None
        headers = {"Retry-After": str(wait)} if wait is not None else None
        return problem(status_of(exc), str(exc), headers)

    for kind in USER_ERRORS:
        app.add_exception_handler(kind, user_error)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body"))
        return problem(422, f"{where or 'request'}: {first.get('msg', 'invalid')}")
