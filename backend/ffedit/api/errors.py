"""The one place where domain errors become HTTP answers: JSON {"error", "detail"}.

| error                                                      | status |
|------------------------------------------------------------|--------|
| NotFound, UnknownLayout                                    | 404    |
| Conflict (NoAdapter, AlreadyTraining, face still used, …)  | 409    |
| UploadTooLarge                                             | 413    |
| InvalidMask, InvalidImage, InvalidLayout, TooFewSamples,   | 422    |
| InvalidRequest, request validation                         |        |
| QueueFull                                                  | 503    |
| anything else                                              | 500 (logged, no traceback sent) |
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ffedit.api.schemas import ErrorOut
from ffedit.service.errors import (
    Conflict,
    InvalidImage,
    InvalidLayout,
    InvalidMask,
    InvalidRequest,
    NotFound,
    QueueFull,
    TooFewSamples,
    UnknownLayout,
)

log = logging.getLogger(__name__)


class UploadTooLarge(Exception):
    """An uploaded file is larger than the configured limit."""


STATUS_OF: tuple[tuple[type[Exception], int, str], ...] = (
    (NotFound, 404, "not found"),
    (UnknownLayout, 404, "not found"),
    (Conflict, 409, "conflict"),
    (UploadTooLarge, 413, "upload too large"),
    (InvalidMask, 422, "invalid mask"),
    (InvalidImage, 422, "invalid image"),
    (InvalidLayout, 422, "invalid layout"),
    (TooFewSamples, 422, "too few samples"),
    (InvalidRequest, 422, "invalid request"),
    (QueueFull, 503, "busy"),
)

ERROR_RESPONSES: dict[int | str, dict] = {
    "default": {
        "model": ErrorOut,
        "description": "an error: 400 unreadable body, 404 not found, 409 conflict, "
        "413 upload too large, 422 invalid request, 503 busy",
    }
}
"""The error answers every operation documents in the OpenAPI spec (replaces FastAPI's
default 422 schema, which is not the shape this app sends)."""


def error_response(status: int, error: str, detail: object = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    for kind, status, error in STATUS_OF:
        if isinstance(exc, kind):
            return error_response(status, error, str(exc))
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error", "the server failed; see its log")


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return error_response(422, "invalid request", detail)


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return error_response(exc.status_code, str(exc.detail).lower(), None)


def install_error_handlers(app: FastAPI) -> None:
    for kind, _, _ in STATUS_OF:
        app.add_exception_handler(kind, _domain_error)
    app.add_exception_handler(Exception, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
