"""ASGI guards in front of the routes: what a hostile page or an oversized request meets first.

Outermost first (`install_guards`):

1. `TrustedHostMiddleware` (Starlette's): only the `trusted_hosts` names are served, so a
   page on a rebound DNS name (`attacker.example` → 127.0.0.1) reads nothing (400).
2. `OriginGuard`: a state-changing request (POST, PUT, PATCH, DELETE) or a WebSocket whose
   `Origin` is neither the server's own nor an `allowed_origins` entry is refused (403; a
   WebSocket is closed before it is accepted). No `Origin` header (curl, scripts) passes:
   browsers send one on every cross-origin request of these kinds.
3. `ContentTypeGuard`: a state-changing request under /api that carries a body, or names a
   body type, must say `application/json` or `multipart/form-data` (415): a plain cross-site
   form (`text/plain`, `application/x-www-form-urlencoded`) never reaches a route.
4. `BodyLimit`: the request body's size is bounded before anything is spooled: a declared
   Content-Length above the limit is answered unread, and Starlette's
   `RequestBodyLimitResponder` counts the streamed bytes (it stops reading at the limit);
   multipart requests get `max_upload_bytes` plus room for their form fields, any other body
   `max_json_bytes` (413 with a sentence, see `ffedit.api.errors`).

Answers are the app's JSON errors, built by `ffedit.api.errors.error_answer`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ffedit.api.errors import Forbidden, RequestTooLarge, UnsupportedMediaType, error_answer
from ffedit.api.settings import Settings

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_TYPES = ("application/json", "multipart/form-data")
FORM_OVERHEAD_BYTES = 64 * 1024
"""Room for a multipart request's boundaries, part headers and small form fields."""
WEBSOCKET_POLICY_VIOLATION = 1008


def media_type(headers: Headers) -> str:
    """The Content-Type's media type, lower case, without parameters ('' when absent)."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def has_body(headers: Headers) -> bool:
    return headers.get("content-length", "0").strip() not in ("", "0") or (
        "transfer-encoding" in headers
    )


class OriginGuard:
    """403 for a state-changing request or WebSocket from a foreign `Origin`."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = {origin.rstrip("/").lower() for origin in allowed_origins}

    def foreign(self, headers: Headers) -> str | None:
        """The request's Origin when it is foreign; None when it is absent or allowed."""
        origin = headers.get("origin")
        if origin is None:
            return None
        origin = origin.strip().rstrip("/").lower()
        if origin in self.allowed:
            return None
        parts = urlsplit(origin)
        host = headers.get("host", "").lower()
        if parts.scheme in ("http", "https") and parts.netloc and parts.netloc == host:
            return None
        return origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket" or (kind == "http" and scope["method"] in STATE_CHANGING):
            headers = Headers(scope=scope)
            origin = self.foreign(headers)
            if origin is None and headers.get("sec-fetch-site") == "cross-site":
                origin = "a cross-site page"
            if origin is not None:
                if kind == "websocket":
                    await send({"type": "websocket.close", "code": WEBSOCKET_POLICY_VIOLATION})
                    return
                error = Forbidden(
                    f"requests from {origin} may not change anything here; open the app from "
                    "this server's own address (or add the origin to FFEDIT_ALLOWED_ORIGINS)"
                )
                await error_answer(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ContentTypeGuard:
    """415 for a state-changing /api request whose body is neither JSON nor multipart."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in STATE_CHANGING
            and scope["path"].startswith(self.prefix)
        ):
            headers = Headers(scope=scope)
            kind = media_type(headers)
            if (kind or has_body(headers)) and kind not in BODY_TYPES:
                error = UnsupportedMediaType(
                    f"send the body as {' or '.join(BODY_TYPES)}, not {kind or 'untyped bytes'}"
                )
                await error_answer(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """The request body bounded by its kind: multipart uploads or anything else."""

    def __init__(self, app: ASGIApp, max_upload_bytes: int, max_json_bytes: int) -> None:
        self.app = app
        self.max_form_bytes = max_upload_bytes + FORM_OVERHEAD_BYTES
        self.max_json_bytes = max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = media_type(headers) == "multipart/form-data"
        limit = self.max_form_bytes if multipart else self.max_json_bytes
        declared = headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:  # answered unread
            await error_answer(RequestTooLarge(limit))(scope, receive, send)
            return
        await RequestBodyLimitResponder(self.app, limit)(scope, receive, send)


def install_guards(app: FastAPI, settings: Settings, api_prefix: str) -> None:
    """Add the guards (Starlette runs the last added outermost)."""
    app.add_middleware(
        BodyLimit,
        max_upload_bytes=settings.max_upload_bytes,
        max_json_bytes=settings.max_json_bytes,
    )
    app.add_middleware(ContentTypeGuard, prefix=api_prefix)
    app.add_middleware(OriginGuard, allowed_origins=settings.allowed_origins)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
