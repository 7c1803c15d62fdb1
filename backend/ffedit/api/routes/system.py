"""Health (`public_router`: no credentials needed, for container healthchecks and readiness
probes; it answers "ok" and the model's name) and model information."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ffedit.api.routes.common import engine_of
from ffedit.api.schemas import HealthOut, ModelOut

public_router = APIRouter(tags=["system"])
router = APIRouter(tags=["system"])


@public_router.get("/health", response_model=HealthOut)
def health(request: Request) -> HealthOut:
    """200 once the model is loaded (the app only serves after its lifespan loaded it)."""
    return HealthOut(
        status="ok", model=engine_of(request).model_source, users=request.app.state.settings.users
    )


@router.get("/model", response_model=ModelOut)
def model(request: Request) -> ModelOut:
    info = engine_of(request).model_info()
    return ModelOut(
        **{**info.__dict__, "views": list(info.views)},
        max_upload_bytes=request.app.state.settings.max_upload_bytes,
    )
