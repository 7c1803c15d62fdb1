"""Personal API tokens of the logged-in user (multi-user mode; 409 in single-user mode): make
one (its secret is shown once), list them with their last use, revoke one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from ffedit.api.auth import Principal, accounts_of, current_principal
from ffedit.api.schemas import NewTokenOut, TokenIn, TokenOut
from ffedit.service.storage import TokenRecord

router = APIRouter(prefix="/tokens", tags=["tokens"])
User = Annotated[Principal, Depends(current_principal)]


def token_out(record: TokenRecord) -> TokenOut:
    return TokenOut(
        id=record.id,
        name=record.name,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
    )


@router.get("", response_model=list[TokenOut])
def list_tokens(request: Request, user: User) -> list[TokenOut]:
    """Your tokens, oldest first (never their secrets)."""
    return [token_out(record) for record in accounts_of(request).list_tokens(user.id)]


@router.post("", response_model=NewTokenOut, status_code=201)
def create_token(request: Request, user: User, body: TokenIn) -> NewTokenOut:
    """A new token: send it as `Authorization: Bearer <token>`. Its secret is in this answer
    only; the server keeps a hash."""
    made = accounts_of(request).create_token(user.id, body.name)
    return NewTokenOut(**token_out(made.record).model_dump(), token=made.secret)


@router.delete("/{token_id}", status_code=204)
def revoke_token(request: Request, user: User, token_id: str) -> None:
    """Revoke one of your tokens: refused from the next request on (another user's: 404)."""
    accounts_of(request).revoke_token(user.id, token_id)
