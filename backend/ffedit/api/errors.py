"""The one place where domain errors become HTTP answers: JSON {"error", "detail"}.

| error                                                      | status |
|------------------------------------------------------------|--------|
| Unauthorized (no valid token or session, `ffedit.api.auth`)| 401 (`WWW-Authenticate: Bearer`) |
| InvalidCredentials (a wrong name or password)              | 401    |
| Forbidden (a foreign Origin, `ffedit.api.guards`)          | 403    |
| NotFound, UnknownLayout                                    | 404    |
| Conflict (NoAdapter, AlreadyTraining, face still used, …)  | 409    |
| UploadTooLarge, a body over the request limit,             | 413    |
| DiskQuotaReached (a user's files)                          |        |
| UnsupportedMediaType (neither JSON nor multipart)          | 415    |
| InvalidMask, InvalidImage, InvalidLayout, TooFewSamples,   | 422    |
| InvalidRequest, PhotoError (not a photo, no face, several  |        |
| faces, a face too small, too many pixels), validation      |        |
| LimitReached (a user's faces, layouts, samples, queued jobs)| 429    |
| TooManyAttempts (failed logins)                            | 429 (`Retry-After`) |
| QueueFull, WorkersUnavailable (no worker answered in time) | 503    |
| anything else                                              | 500 (logged, no traceback sent) |

Details never carry server paths (`without_paths`); the log keeps them.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from ffedit.api.schemas import ErrorOut
from ffedit.service.errors import (
    Conflict,
    DiskQuotaReached,
    InvalidCredentials,
    InvalidImage,
    InvalidLayout,
    InvalidMask,
    InvalidRequest,
    LimitReached,
    NotFound,
    PhotoError,
    QueueFull,
    TooFewSamples,
    TooManyAttempts,
    UnknownLayout,
    WorkersUnavailable,
    without_paths,
)

log = logging.getLogger(__name__)


class UploadTooLarge(Exception):
    """An uploaded file is larger than the configured limit."""


class RequestTooLarge(Exception):
    """A request body above the server's limit (declared or streamed)."""

    def __init__(self, limit: object) -> None:
        super().__init__(f"the request body is larger than the {limit} bytes this server accepts")


class Unauthorized(Exception):
    """A request without a valid access token or session cookie."""


class Forbidden(Exception):
    """A state-changing request from a page of another origin."""


class UnsupportedMediaType(Exception):
    """A request body that is neither JSON nor a multipart form."""


STATUS_OF: tuple[tuple[type[Exception], int, str], ...] = (
    (Unauthorized, 401, "unauthorized"),
    (InvalidCredentials, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not found"),
    (UnknownLayout, 404, "not found"),
    (Conflict, 409, "conflict"),
    (UploadTooLarge, 413, "upload too large"),
    (RequestTooLarge, 413, "request too large"),
    (DiskQuotaReached, 413, "disk quota reached"),
    (UnsupportedMediaType, 415, "unsupported media type"),
    (InvalidMask, 422, "invalid mask"),
    (InvalidImage, 422, "invalid image"),
    (PhotoError, 422, "invalid photo"),
    (InvalidLayout, 422, "invalid layout"),
    (TooFewSamples, 422, "too few samples"),
    (InvalidRequest, 422, "invalid request"),
    (LimitReached, 429, "limit reached"),
    (TooManyAttempts, 429, "too many attempts"),
    (QueueFull, 503, "busy"),
    (WorkersUnavailable, 503, "busy"),
)

ERROR_RESPONSES: dict[int | str, dict] = {
    "default": {
        "model": ErrorOut,
        "description": "an error: 400 unreadable body, 401 not logged in, 403 foreign "
        "origin, 404 not found, 409 conflict, 413 upload too large or disk quota reached, "
        "415 neither JSON nor multipart, 422 invalid request, 429 a limit reached or too "
        "many failed logins (Retry-After), 503 busy",
    }
}
"""The error answers every operation documents in the OpenAPI spec (replaces FastAPI's
default 422 schema, which is not the shape this app sends)."""


def error_response(
    status: int, error: str, detail: object = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON error answer; a 401 also names the scheme that logs in (RFC 9110)."""
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def error_answer(exc: Exception) -> JSONResponse | None:
    """The answer of a domain error in the table (None for anything else); too many failed
    logins also say when to retry (`Retry-After`, seconds)."""
    headers = None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after_s)}
    for kind, status, error in STATUS_OF:
        if isinstance(exc, kind):
            return error_response(status, error, without_paths(str(exc)), headers)
    return None


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    answer = error_answer(exc)
    if answer is not None:
        return answer
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error", "the server failed; see its log")


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return error_response(422, "invalid request", detail)


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    if status == 413:
        too_large = RequestTooLarge(request.scope.get(MAX_BODY_SIZE_SCOPE_KEY, "allowed"))
        return error_response(413, "request too large", str(too_large))
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    detail = None if str(exc.detail) == phrase else str(exc.detail)
    return error_response(status, (phrase or str(exc.detail)).lower(), detail)


def install_error_handlers(app: FastAPI) -> None:
    for kind, _, _ in STATUS_OF:
        app.add_exception_handler(kind, _domain_error)
    app.add_exception_handler(Exception, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
