"""Who is asking: `current_principal`, the one dependency every protected route has, and
`OwnerId`, the owner a route passes to every Engine operation.

Single-user mode (what `ffedit serve` starts): one access token, `FFEDIT_TOKEN` or a random
one made at start-up and printed with the link that logs the page in (`startup_message`). A
request proves it knows the token with `Authorization: Bearer <token>`, or with the session
cookie the page gets for it (`POST /api/v1/session` with the Bearer header). The cookie
holds an HMAC of the token, not the token: it is worth as much as the token on this server
(so it is HttpOnly and SameSite=Strict), it cannot be replayed as a Bearer token, and it
stops working when the token changes (a restart without `FFEDIT_TOKEN`). Every comparison
takes constant time (`hmac.compare_digest`).

Multi-user mode (`FFEDIT_USERS=on`): `AccountAuthenticator` looks the credential up in the
accounts (`ffedit.service.accounts.Accounts`): a personal API token as the Bearer token, or
the cookie of a session made by logging in with a name and password (`POST /api/v1/session`
with JSON). The database keeps only hashes of both, and every request looks them up, so a
logout, a revoked token or a deleted user is refused from the next request on.

The start-up link's token reaches the server once, in the page's own URL: `TokenRedactor`
keeps it out of the access log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from fastapi import Depends, Response, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection
from starlette.status import WS_1008_POLICY_VIOLATION

from ffedit.api.errors import Unauthorized
from ffedit.api.settings import Settings
from ffedit.service.accounts import Accounts
from ffedit.service.errors import NoAccounts
from ffedit.service.storage import SINGLE_USER_OWNER, UserRecord

SESSION_COOKIE = "ffedit_session"
SESSION_COOKIE_PATH = "/api/"
"""Only the API reads the cookie; the page's static files are served without it."""
SESSION_PURPOSE = b"ffedit session cookie v1"
LOGIN_HOW = (
    "open the link `ffedit serve` printed at start-up (it ends in /?token=...), or send the "
    "header `Authorization: Bearer <token>`"
)
NOT_LOGGED_IN = f"Not logged in: {LOGIN_HOW}."
NOT_VALID = (
    "The token or session is not valid (a restarted server makes a new token unless "
    f"FFEDIT_TOKEN fixes it): {LOGIN_HOW}."
)
ACCOUNT_LOGIN_HOW = (
    "log in on the page with your user name and password, or send a personal API token as "
    "`Authorization: Bearer <token>` (`ffedit tokens create NAME` makes one)"
)
NOT_LOGGED_IN_ACCOUNT = f"Not logged in: {ACCOUNT_LOGIN_HOW}."
NOT_VALID_ACCOUNT = (
    "The token or session is not valid (revoked, logged out, expired, or its user was "
    f"deleted): {ACCOUNT_LOGIN_HOW}."
)
NO_TOKENS_HERE = (
    "this server runs in single-user mode: it has one access token (printed at start-up, or "
    "FFEDIT_TOKEN) and no personal tokens; personal tokens come with FFEDIT_USERS=on"
)
WEBSOCKET_REFUSAL = "not logged in: send the session cookie or Authorization: Bearer <token>"
"""The close reason of a refused WebSocket (at most 123 bytes)."""
TOKEN_IN_QUERY = re.compile(r"(?<=[?&]token=)[^&#\s]+")
UNSPECIFIED_HOSTS = ("0.0.0.0", "::", "")
"""Bind addresses meaning every interface: the printed link uses loopback instead."""

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="the access token: printed by `ffedit serve` at start-up, or FFEDIT_TOKEN",
)
session_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="the page's session cookie, from POST /api/v1/session with the token",
)


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a user's id and name, or the single-user owner."""

    id: str
    name: str
    admin: bool
    session: str | None = field(default=None, repr=False)
    """The session secret the request came with (multi-user mode; what logging out ends)."""


OWNER = Principal(SINGLE_USER_OWNER, SINGLE_USER_OWNER, admin=True)


def principal_of_user(user: UserRecord, session: str | None = None) -> Principal:
    return Principal(user.id, user.name, user.admin, session)


def same_secret(given: str, expected: str) -> bool:
    """Whether two secrets are equal, in time independent of where they differ."""
    return hmac.compare_digest(given.encode(), expected.encode())


def session_value(token: str) -> str:
    """The session cookie's value for `token`: HMAC-SHA256(token, SESSION_PURPOSE), hex."""
    return hmac.new(token.encode(), SESSION_PURPOSE, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class TokenAuthenticator:
    """Single-user mode: the one token, or the session cookie made from it, is the owner."""

    token: str = field(repr=False)
    accounts: ClassVar[None] = None
    not_logged_in: ClassVar[str] = NOT_LOGGED_IN
    not_valid: ClassVar[str] = NOT_VALID

    def principal_of(self, bearer: str | None, session: str | None) -> Principal | None:
        """The owner when either credential is right; None otherwise."""
        if bearer is not None and same_secret(bearer, self.token):
            return OWNER
        if session is not None and same_secret(session, session_value(self.token)):
            return OWNER
        return None

    def log_in(self, bearer: str | None, login: tuple[str, str] | None, address: str) -> str:
        """The session cookie's value for a request bringing the token (`Unauthorized`
        without it)."""
        if self.principal_of(bearer, None) is None:
            raise Unauthorized(NOT_LOGGED_IN if bearer is None else NOT_VALID)
        return session_value(self.token)

    def log_out(self, principal: Principal) -> None:
        """Nothing to end: the cookie is made from the token (a new token ends it)."""


@dataclass(frozen=True)
class AccountAuthenticator:
    """Multi-user mode: a personal API token, or the cookie of a logged-in session."""

    accounts: Accounts
    not_logged_in: ClassVar[str] = NOT_LOGGED_IN_ACCOUNT
    not_valid: ClassVar[str] = NOT_VALID_ACCOUNT

    def principal_of(self, bearer: str | None, session: str | None) -> Principal | None:
        """The user of the token or of the session; None when neither is valid."""
        if bearer is not None:
            user = self.accounts.token_user(bearer)
            if user is not None:
                return principal_of_user(user)
        if session is not None:
            user = self.accounts.session_user(session)
            if user is not None:
                return principal_of_user(user, session)
        return None

    def log_in(self, bearer: str | None, login: tuple[str, str] | None, address: str) -> str:
        """A new session's secret for a right name and password (`Unauthorized` without
        them; `InvalidCredentials`, `TooManyAttempts` from the accounts)."""
        if login is None:
            raise Unauthorized(NOT_LOGGED_IN_ACCOUNT)
        _, secret = self.accounts.log_in(*login, address)
        return secret

    def log_out(self, principal: Principal) -> None:
        """End the session the request came with (a token stays valid: revoke it instead)."""
        if principal.session is not None:
            self.accounts.log_out(principal.session)


Authenticator = TokenAuthenticator | AccountAuthenticator


def authenticator_of(settings: Settings, accounts: Accounts | None) -> Authenticator:
    if accounts is not None:
        return AccountAuthenticator(accounts)
    return TokenAuthenticator(settings.token.get_secret_value())


def accounts_of(connection: HTTPConnection) -> Accounts:
    """The app's accounts; `NoAccounts` in single-user mode."""
    accounts = connection.app.state.authenticator.accounts
    if accounts is None:
        raise NoAccounts(NO_TOKENS_HERE)
    return accounts


async def current_principal(
    connection: HTTPConnection,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    session: Annotated[str | None, Security(session_scheme)],
) -> Principal:
    """Who the request or WebSocket acts for; 401 with how to log in (a WebSocket is closed
    before it is accepted) when it brings no valid credential."""
    authenticator: Authenticator = connection.app.state.authenticator
    token = bearer.credentials if bearer is not None else None
    if authenticator.accounts is None:
        principal = authenticator.principal_of(token, session)
    else:  # a database lookup: off the event loop
        principal = await run_in_threadpool(authenticator.principal_of, token, session)
    if principal is not None:
        return principal
    if connection.scope["type"] == "websocket":
        raise WebSocketException(WS_1008_POLICY_VIOLATION, WEBSOCKET_REFUSAL)
    missing = token is None and session is None
    raise Unauthorized(authenticator.not_logged_in if missing else authenticator.not_valid)


def owner_id(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    return principal.id


OwnerId = Annotated[str, Depends(owner_id)]
"""A route's parameter: the id of the owner the request acts for (its Engine calls get it)."""


def set_session_cookie(response: Response, connection: HTTPConnection, value: str) -> None:
    """Give the client the session cookie `value`: HttpOnly (no script reads it),
    SameSite=Strict (no other site's page sends it), Secure over HTTPS, API paths only; it
    lasts the browser session (a multi-user session also ends on the server, see
    `Accounts`)."""
    response.set_cookie(
        SESSION_COOKIE,
        value,
        path=SESSION_COOKIE_PATH,
        secure=connection.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, connection: HTTPConnection) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=SESSION_COOKIE_PATH,
        secure=connection.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def login_url(host: str, port: int, token: str) -> str:
    """The link that logs the page in: http://HOST:PORT/?token=TOKEN (loopback for a bind to
    every interface, brackets around an IPv6 address)."""
    shown = "127.0.0.1" if host in UNSPECIFIED_HOSTS else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"


def startup_message(host: str, port: int, settings: Settings) -> str:
    """What `ffedit serve` prints once the app is ready: the link with the token it made, or,
    when FFEDIT_TOKEN fixed the token, the link without it (an operator's secret is not
    echoed into logs); in multi-user mode the page's address, where users log in."""
    if settings.users:
        url = login_url(host, port, "").removesuffix("?token=")
        return (
            f"ffedit is ready (multi-user mode). Open {url} and log in with your account "
            "(`ffedit users create NAME` makes one); API clients send a personal token "
            "(`ffedit tokens create NAME`) as `Authorization: Bearer <token>`."
        )
    if "token" in settings.model_fields_set:
        url = login_url(host, port, "<FFEDIT_TOKEN>")
        return f"ffedit is ready. To log in, open {url} with the token set in FFEDIT_TOKEN."
    url = login_url(host, port, settings.token.get_secret_value())
    return (
        "ffedit is ready. Open this link to log in (it holds this run's access token; "
        f"API clients send it as `Authorization: Bearer <token>`):\n\n    {url}\n"
    )


def without_tokens(text: str) -> str:
    """`text` with the value of every `token=` query parameter replaced by "redacted"."""
    return TOKEN_IN_QUERY.sub("redacted", text)


class TokenRedactor(logging.Filter):
    """A log filter taking token values out of a record's arguments (uvicorn's access log
    line carries the request's path and query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                without_tokens(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
