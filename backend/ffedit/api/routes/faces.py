"""Faces: create (seed or latent upload), get, delete, render, predicted mask, edit, export."""

from __future__ import annotations

import io
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from ffedit.api.routes.common import (
    PNG_MEDIA_TYPE,
    PNG_RESPONSE,
    AngleForm,
    engine_of,
    face_out,
    job_out,
    read_upload,
    view_of,
)
from ffedit.api.schemas import FaceIn, FaceOut, JobOut
from ffedit.layouts import BASE_LAYOUT
from ffedit.service.errors import InvalidRequest
from ffedit.service.views import MAX_ANGLE

router = APIRouter(prefix="/faces", tags=["faces"])

NPY_MAGIC = b"\x93NUMPY"
FACE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": FaceIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["latent"],
                    "properties": {
                        "latent": {
                            "type": "string",
                            "format": "binary",
                            "description": ".npy of z (z_dim,) or ws (num_ws, w_dim)",
                        }
                    },
                }
            },
        },
    }
}

ViewQuery = Annotated[str | None, Query(description="front, left or right")]
YawQuery = Annotated[
    float | None,
    Query(ge=-MAX_ANGLE, le=MAX_ANGLE, description="radians from the front view"),
]
LayoutQuery = Annotated[str, Query(description="layout id or name")]


def _latent_from_npy(data: bytes) -> np.ndarray:
    if not data.startswith(NPY_MAGIC):
        raise InvalidRequest("the latent is not a .npy file (checked by content)")
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as error:
        raise InvalidRequest(f"the latent .npy file cannot be read: {error}") from error
    if not np.issubdtype(array.dtype, np.floating):
        raise InvalidRequest(f"the latent must hold floats, not {array.dtype}")
    return array


@router.get("", response_model=list[FaceOut])
def list_faces(request: Request) -> list[FaceOut]:
    return [face_out(face) for face in engine_of(request).list_faces()]


@router.post("", response_model=FaceOut, status_code=201, openapi_extra=FACE_BODY)
async def create_face(request: Request) -> FaceOut:
    """A face from JSON {"seed": n}, or from a multipart upload of a latent (field `latent`)."""
    engine = engine_of(request)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("latent")
        if upload is None or isinstance(upload, str):
            raise InvalidRequest("the multipart form needs a file field 'latent'")
        latent = _latent_from_npy(read_upload(request, upload))
        face = engine.create_face_from_latent(latent, upload.filename or "latent.npy")
        return face_out(face)
    try:
        body = FaceIn.model_validate_json(await request.body())
    except ValueError as error:
        raise InvalidRequest(
            'send JSON {"seed": <integer ≥ 0>} or a multipart latent upload'
        ) from error
    return face_out(await run_in_threadpool(engine.create_face_from_seed, body.seed))


@router.get("/{face_id}", response_model=FaceOut)
def get_face(request: Request, face_id: str) -> FaceOut:
    return face_out(engine_of(request).get_face(face_id))


@router.delete("/{face_id}", status_code=204)
def delete_face(request: Request, face_id: str) -> None:
    """Delete a face (409 while training samples use it; edited children are kept)."""
    engine_of(request).delete_face(face_id)


@router.get("/{face_id}/render", response_class=Response, responses=PNG_RESPONSE)
def render_face(
    request: Request,
    face_id: str,
    view: ViewQuery = None,
    yaw: YawQuery = None,
    pitch: YawQuery = None,
    kind: Literal["rgb", "mask", "overlay"] = "rgb",
    layout: LayoutQuery = BASE_LAYOUT,
    size: Annotated[
        int | None, Query(ge=16, le=512, description="preview side: raw render, no upsampling")
    ] = None,
) -> Response:
    """A PNG of the face: RGB, the layout's mask (indexed PNG) or the mask over the RGB."""
    engine = engine_of(request)
    png = engine.render_png(face_id, view_of(view, yaw, pitch), kind, layout, size)
    return Response(png, media_type=PNG_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.get("/{face_id}/mask", response_class=Response, responses=PNG_RESPONSE)
def predicted_mask(
    request: Request,
    face_id: str,
    layout: LayoutQuery = BASE_LAYOUT,
    view: ViewQuery = None,
    yaw: YawQuery = None,
    pitch: YawQuery = None,
) -> Response:
    """The layout's predicted mask at the model's mask resolution, as an indexed PNG: where
    annotating starts (a layout without an adapter yet predicts its base layout's classes)."""
    engine = engine_of(request)
    png = engine.render_png(face_id, view_of(view, yaw, pitch), "mask", layout)
    return Response(png, media_type=PNG_MEDIA_TYPE)


@router.post("/{face_id}/edits", response_model=JobOut, status_code=202)
def edit_face(
    request: Request,
    face_id: str,
    mask: Annotated[UploadFile, File(description="target mask PNG in the layout")],
    layout: Annotated[str, Form()] = BASE_LAYOUT,
    view: Annotated[str | None, Form()] = None,
    yaw: AngleForm = None,
    pitch: AngleForm = None,
    steps: Annotated[int | None, Form(ge=1)] = None,
    overlap_weight: Annotated[float, Form(ge=0, le=10)] = 0.5,
    seed: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0,
) -> JobOut:
    """Start an edit toward the painted mask: a job whose result names the new face."""
    job = engine_of(request).submit_edit(
        face_id,
        layout,
        view_of(view, yaw, pitch),
        read_upload(request, mask),
        steps=steps,
        overlap_weight=overlap_weight,
        seed=seed,
    )
    return job_out(job)


@router.get(
    "/{face_id}/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "a ZIP archive"}},
)
def export_face(
    request: Request,
    face_id: str,
    layout: LayoutQuery = BASE_LAYOUT,
    frames: Annotated[int | None, Query(ge=2, le=300, description="orbit video frames")] = None,
) -> Response:
    """ZIP: front/left/right RGB, masks and overlays, orbit video, ws, layout (+ adapter)."""
    data = engine_of(request).export_zip(face_id, layout, frames)
    disposition = f'attachment; filename="face-{face_id}.zip"'
    return Response(
        data, media_type="application/zip", headers={"Content-Disposition": disposition}
    )
