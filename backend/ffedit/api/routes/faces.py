"""Faces: create (seed or latent upload; a photo upload starts an inversion job), get,
delete, the page's view (image and mask from one render), render (large ones as jobs),
predicted mask, edit, mesh (a job), export (a job). Renders of a page's `stream` supersede
each other, and one whose client left is never rendered."""

from __future__ import annotations

import io
import math
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ffedit.api.auth import OwnerId
from ffedit.api.errors import UnsupportedMediaType
from ffedit.api.guards import media_type
from ffedit.api.routes.common import (
    PNG_MEDIA_TYPE,
    PNG_RESPONSE,
    AngleForm,
    StreamQuery,
    base64_text,
    engine_of,
    face_out,
    job_out,
    read_upload,
    render_while_wanted,
    view_of,
)
from ffedit.api.schemas import FaceIn, FaceOut, JobOut, ViewOut
from ffedit.layouts import BASE_LAYOUT
from ffedit.service.engine import (
    DEFAULT_GRID,
    MAX_DIRECT_RENDER_SIDE,
    MAX_GRID,
    MAX_RENDER_SIDE,
    MIN_GRID,
)
from ffedit.service.errors import InvalidRequest
from ffedit.service.views import MAX_ANGLE

router = APIRouter(prefix="/faces", tags=["faces"])

NPY_MAGIC = b"\x93NUMPY"
MAX_LATENT_VALUES = 1 << 16
"""Most values an uploaded latent may declare (a ws of 14 × 512 holds 7168)."""
FACE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": FaceIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "description": "one file: `latent` (the face at once, 201) or `photo` (an "
                    "inversion job, 202)",
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["latent"],
                            "properties": {
                                "latent": {
                                    "type": "string",
                                    "format": "binary",
                                    "description": ".npy of z (z_dim,) or ws (num_ws, w_dim)",
                                }
                            },
                        },
                        {
                            "type": "object",
                            "required": ["photo"],
                            "properties": {
                                "photo": {
                                    "type": "string",
                                    "format": "binary",
                                    "description": "JPEG or PNG with one face: detected, "
                                    "aligned, inverted as a job",
                                }
                            },
                        },
                    ],
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
    """The float array of an uploaded .npy, its header checked before anything is allocated:
    a declared shape must fit the bytes sent and `MAX_LATENT_VALUES`."""
    if not data.startswith(NPY_MAGIC):
        raise InvalidRequest("the latent is not a .npy file (checked by content)")
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(stream)
    except Exception as error:  # numpy parses the header with ast and tokenize: any error
        raise InvalidRequest("the latent .npy header cannot be read") from error
    if not np.issubdtype(dtype, np.floating):
        raise InvalidRequest(f"the latent must hold floats, not {dtype}")
    count = math.prod(shape)
    if count > MAX_LATENT_VALUES or count * dtype.itemsize > len(data) - stream.tell():
        raise InvalidRequest(
            f"the latent .npy declares shape {tuple(shape)}, more values than it holds or than "
            f"a latent has (at most {MAX_LATENT_VALUES})"
        )
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, MemoryError) as error:
        raise InvalidRequest("the latent .npy file cannot be read") from error


@router.get("", response_model=list[FaceOut])
def list_faces(request: Request, owner: OwnerId) -> list[FaceOut]:
    """Your faces, oldest first."""
    return [face_out(face) for face in engine_of(request).list_faces(owner)]


PHOTO_JOB_RESPONSE = {
    202: {
        "model": JobOut,
        "description": "a photo upload: its inversion job (the result names the new face; "
        "`GET /jobs/{job_id}/download` gives the aligned crop)",
    }
}


@router.post(
    "",
    response_model=FaceOut,
    status_code=201,
    openapi_extra=FACE_BODY,
    responses=PHOTO_JOB_RESPONSE,
)
async def create_face(request: Request, owner: OwnerId) -> FaceOut | JSONResponse:
    """A face from JSON {"seed": n}, or from a multipart upload of a latent (field `latent`);
    a multipart photo (field `photo`) is checked at once (one face, large enough) and
    inverted as a job (202)."""
    engine = engine_of(request)
    content_type = media_type(request.headers)
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=0) as form:
            field = "photo" if "photo" in form else "latent"
            upload = form.get(field)
            if upload is None or isinstance(upload, str):
                raise InvalidRequest("the multipart form needs a file field 'latent' or 'photo'")
            data = await run_in_threadpool(read_upload, request, upload)
            name = upload.filename or field
        if field == "photo":
            job = await run_in_threadpool(engine.submit_photo, owner, data, name)
            return JSONResponse(job_out(job).model_dump(mode="json"), status_code=202)
        latent = _latent_from_npy(data)
        # off the event loop: a z latent waits for the device lock
        face = await run_in_threadpool(engine.create_face_from_latent, owner, latent, name)
        return face_out(face)
    if content_type != "application/json":
        raise UnsupportedMediaType(
            f"send JSON (application/json) or a multipart upload, not {content_type or 'no type'}"
        )
    try:
        body = FaceIn.model_validate_json(await request.body())
    except ValueError as error:
        raise InvalidRequest(
            'send JSON {"seed": <integer ≥ 0>} or a multipart latent upload'
        ) from error
    return face_out(await run_in_threadpool(engine.create_face_from_seed, owner, body.seed))


@router.get("/{face_id}", response_model=FaceOut)
def get_face(request: Request, owner: OwnerId, face_id: str) -> FaceOut:
    return face_out(engine_of(request).get_face(owner, face_id))


@router.delete("/{face_id}", status_code=204)
def delete_face(request: Request, owner: OwnerId, face_id: str) -> None:
    """Delete a face (409 while training samples use it; edited children are kept)."""
    engine_of(request).delete_face(owner, face_id)


@router.get("/{face_id}/view", response_model=ViewOut)
async def view_face(
    request: Request,
    owner: OwnerId,
    face_id: str,
    view: ViewQuery = None,
    yaw: YawQuery = None,
    pitch: YawQuery = None,
    layout: LayoutQuery = BASE_LAYOUT,
    stream: StreamQuery = None,
) -> ViewOut:
    """What the page shows of a view, from one render: the super-resolved RGB and the
    layout's predicted mask (where annotating starts), both as base64 PNGs."""
    engine = engine_of(request)
    spec = view_of(view, yaw, pitch)
    image, mask = await render_while_wanted(
        request, stream, lambda wanted: engine.render_view(owner, face_id, spec, layout, wanted)
    )
    return ViewOut(image_png=base64_text(image), mask_png=base64_text(mask))


@router.get("/{face_id}/render", response_class=Response, responses=PNG_RESPONSE)
async def render_face(
    request: Request,
    owner: OwnerId,
    face_id: str,
    view: ViewQuery = None,
    yaw: YawQuery = None,
    pitch: YawQuery = None,
    kind: Literal["rgb", "mask", "overlay"] = "rgb",
    layout: LayoutQuery = BASE_LAYOUT,
    stream: StreamQuery = None,
    size: Annotated[
        int | None,
        Query(
            ge=16,
            le=MAX_RENDER_SIDE,
            description=f"raw render side, no upsampling (above {MAX_DIRECT_RENDER_SIDE}: "
            "422, use POST /faces/{face_id}/renders)",
        ),
    ] = None,
) -> Response:
    """A PNG of the face: RGB, the layout's mask (indexed PNG) or the mask over the RGB."""
    engine = engine_of(request)
    spec = view_of(view, yaw, pitch)
    png = await render_while_wanted(
        request,
        stream,
        lambda wanted: engine.render_png(owner, face_id, spec, kind, layout, size, wanted),
    )
    return Response(png, media_type=PNG_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.get("/{face_id}/mask", response_class=Response, responses=PNG_RESPONSE)
async def predicted_mask(
    request: Request,
    owner: OwnerId,
    face_id: str,
    layout: LayoutQuery = BASE_LAYOUT,
    view: ViewQuery = None,
    yaw: YawQuery = None,
    pitch: YawQuery = None,
    stream: StreamQuery = None,
) -> Response:
    """The layout's predicted mask at the model's mask resolution, as an indexed PNG: where
    annotating starts (a layout without an adapter yet predicts its base layout's classes)."""
    engine = engine_of(request)
    spec = view_of(view, yaw, pitch)
    png = await render_while_wanted(
        request,
        stream,
        lambda wanted: engine.render_png(owner, face_id, spec, "mask", layout, wanted=wanted),
    )
    return Response(png, media_type=PNG_MEDIA_TYPE)


@router.post("/{face_id}/edits", response_model=JobOut, status_code=202)
def edit_face(
    request: Request,
    owner: OwnerId,
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
        owner,
        face_id,
        layout,
        view_of(view, yaw, pitch),
        read_upload(request, mask),
        steps=steps,
        overlap_weight=overlap_weight,
        seed=seed,
    )
    return job_out(job)


@router.post("/{face_id}/exports", response_model=JobOut, status_code=202)
def start_export(
    request: Request,
    owner: OwnerId,
    face_id: str,
    layout: LayoutQuery = BASE_LAYOUT,
    frames: Annotated[int | None, Query(ge=2, le=300, description="orbit video frames")] = None,
) -> JobOut:
    """The export ZIP as a job: progress per orbit frame, cancel, then
    `GET /jobs/{job_id}/download`. The same export done before answers with its job."""
    return job_out(engine_of(request).submit_export(owner, face_id, layout, frames))


@router.post("/{face_id}/meshes", response_model=JobOut, status_code=202)
def start_mesh(
    request: Request,
    owner: OwnerId,
    face_id: str,
    layout: LayoutQuery = BASE_LAYOUT,
    format: Annotated[
        Literal["glb", "ply"], Query(description="glTF binary (GLB) or binary PLY")
    ] = "glb",
    grid: Annotated[
        int,
        Query(ge=MIN_GRID, le=MAX_GRID, description="marching-cubes lattice points a side"),
    ] = DEFAULT_GRID,
) -> JobOut:
    """The face's surface as a mesh, each vertex with its colour and its class in the layout
    (GLB attribute `_CLASS`, PLY property `class`), as a job (about 2 s on a 2-core CPU),
    then `GET /jobs/{job_id}/download`. 409 when the layout has no trained adapter. The same
    mesh made before answers with its job."""
    return job_out(engine_of(request).submit_mesh(owner, face_id, layout, format, grid))


@router.post("/{face_id}/renders", response_model=JobOut, status_code=202)
def start_render(
    request: Request,
    owner: OwnerId,
    face_id: str,
    size: Annotated[int, Query(ge=16, le=MAX_RENDER_SIDE, description="raw render side")],
    view: ViewQuery = None,
    yaw: YawQuery = None,
    pitch: YawQuery = None,
    kind: Literal["rgb", "mask", "overlay"] = "rgb",
    layout: LayoutQuery = BASE_LAYOUT,
) -> JobOut:
    """A raw render too large for `GET /render`, as a job: progress per band of rows,
    cancel, then `GET /jobs/{job_id}/download` (a PNG). The same render done before answers
    with its job."""
    engine = engine_of(request)
    return job_out(
        engine.submit_render(owner, face_id, view_of(view, yaw, pitch), kind, layout, size)
    )
