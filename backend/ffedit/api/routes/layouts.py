"""Layouts (built-in and custom), their annotated samples, and training."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from ffedit.api.auth import OwnerId
from ffedit.api.routes.common import (
    PNG_MEDIA_TYPE,
    PNG_RESPONSE,
    AngleForm,
    engine_of,
    job_out,
    layout_out,
    read_upload,
    sample_out,
    view_of,
)
from ffedit.api.schemas import JobOut, LayoutIn, LayoutOut, SampleOut

router = APIRouter(prefix="/layouts", tags=["layouts"])


@router.get("", response_model=list[LayoutOut])
def list_layouts(request: Request, owner: OwnerId) -> list[LayoutOut]:
    """Built-in layouts first (shared, read-only), then your custom ones, oldest first."""
    engine = engine_of(request)
    return [layout_out(engine, record) for record in engine.list_layouts(owner)]


@router.post("", response_model=LayoutOut, status_code=201)
def create_layout(request: Request, owner: OwnerId, body: LayoutIn) -> LayoutOut:
    """A new layout: the classes of `base` followed by the new classes (names, colours)."""
    engine = engine_of(request)
    new_classes = [(c.name, tuple(c.color)) for c in body.classes]
    return layout_out(engine, engine.create_layout(owner, body.name, body.base, new_classes))


@router.get("/{layout_id}", response_model=LayoutOut)
def get_layout(request: Request, owner: OwnerId, layout_id: str) -> LayoutOut:
    """A layout by id or name."""
    engine = engine_of(request)
    return layout_out(engine, engine.find_layout(owner, layout_id))


@router.delete("/{layout_id}", status_code=204)
def delete_layout(request: Request, owner: OwnerId, layout_id: str) -> None:
    """Delete a custom layout (by id) with its samples and adapter (409 for built-ins)."""
    engine_of(request).delete_layout(owner, layout_id)


@router.post("/{layout_id}/samples", response_model=SampleOut, status_code=201)
def add_sample(
    request: Request,
    owner: OwnerId,
    layout_id: str,
    face_id: Annotated[str, Form()],
    mask: Annotated[UploadFile, File(description="indexed PNG, or RGB in the layout's colours")],
    view: Annotated[str | None, Form()] = None,
    yaw: AngleForm = None,
    pitch: AngleForm = None,
) -> SampleOut:
    """Add an annotated sample to a layout (by id): a face seen from a view, with its mask
    (stored indexed)."""
    spec = view_of(view, yaw, pitch)
    sample = engine_of(request).add_sample(
        owner, layout_id, face_id, spec, read_upload(request, mask)
    )
    return sample_out(sample)


@router.get("/{layout_id}/samples", response_model=list[SampleOut])
def list_samples(request: Request, owner: OwnerId, layout_id: str) -> list[SampleOut]:
    """Your samples of the layout."""
    return [sample_out(s) for s in engine_of(request).list_samples(owner, layout_id)]


@router.get("/{layout_id}/samples/{sample_id}", response_model=SampleOut)
def get_sample(request: Request, owner: OwnerId, layout_id: str, sample_id: str) -> SampleOut:
    return sample_out(engine_of(request).get_sample(owner, layout_id, sample_id))


@router.get(
    "/{layout_id}/samples/{sample_id}/mask", response_class=Response, responses=PNG_RESPONSE
)
def get_sample_mask(request: Request, owner: OwnerId, layout_id: str, sample_id: str) -> Response:
    """The sample's mask as stored: an indexed PNG at the model's mask resolution."""
    sample = engine_of(request).get_sample(owner, layout_id, sample_id)
    return Response(sample.mask_path.read_bytes(), media_type=PNG_MEDIA_TYPE)


@router.delete("/{layout_id}/samples/{sample_id}", status_code=204)
def delete_sample(request: Request, owner: OwnerId, layout_id: str, sample_id: str) -> None:
    engine_of(request).delete_sample(owner, layout_id, sample_id)


@router.post("/{layout_id}/train", response_model=JobOut, status_code=202)
def train_layout(request: Request, owner: OwnerId, layout_id: str) -> JobOut:
    """Start training the layout's (by id) adapter on its samples: a job (409 if one is
    running)."""
    return job_out(engine_of(request).submit_training(owner, layout_id))
