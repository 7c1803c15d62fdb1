"""The page's session: logging in (single-user mode: the access token; multi-user mode: a
user name and password) for an HttpOnly session cookie, who is logged in, logging out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials

from ffedit.api.auth import (
    Principal,
    bearer_scheme,
    clear_session_cookie,
    current_principal,
    set_session_cookie,
)
from ffedit.api.schemas import LoginIn, SessionOut

public_router = APIRouter(tags=["session"])
router = APIRouter(tags=["session"])
UNKNOWN_ADDRESS = "unknown"


@public_router.post("/session", status_code=204)
def create_session(
    request: Request,
    response: Response,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    login: LoginIn | None = None,
) -> None:
    """Log in for the session cookie `ffedit_session` (HttpOnly, SameSite=Strict); later
    requests and job WebSockets of the page carry it. Single-user mode: send the access
    token (`Authorization: Bearer <token>`, as the page does with the start-up link's
    `?token=`). Multi-user mode: send JSON {"name", "password"}; failed logins are limited
    per account and per client address (429 with `Retry-After`)."""
    address = request.client.host if request.client else UNKNOWN_ADDRESS
    secret = request.app.state.authenticator.log_in(
        bearer.credentials if bearer is not None else None,
        None if login is None else (login.name, login.password),
        address,
    )
    set_session_cookie(response, request, secret)


@router.get("/session", response_model=SessionOut)
def get_session(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> SessionOut:
    """Who the request acts for, and whether the server has accounts."""
    users = request.app.state.authenticator.accounts is not None
    return SessionOut(user=principal.name, admin=principal.admin, users=users)


@router.delete("/session", status_code=204)
def delete_session(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(current_principal)],
) -> None:
    """Log out: the session cookie is cleared and, in multi-user mode, its session ended on
    the server at once (a personal token stays valid: revoke it with DELETE /tokens/{id})."""
    request.app.state.authenticator.log_out(principal)
    clear_session_cookie(response, request)
