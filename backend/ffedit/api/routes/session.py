"""The page's session: the access token exchanged for an HttpOnly session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from ffedit.api.auth import Principal, current_principal, set_session_cookie

router = APIRouter(tags=["session"])


@router.post("/session", status_code=204)
def create_session(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(current_principal)],
) -> None:
    """Exchange the access token (`Authorization: Bearer <token>`, as the page does with the
    start-up link's `?token=`) for the session cookie `ffedit_session` (HttpOnly,
    SameSite=Strict); later requests and job WebSockets of the page carry it."""
    set_session_cookie(response, request, principal)
