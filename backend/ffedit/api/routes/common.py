"""What the routers share: the Engine of the app, upload reading, records → schemas."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, UploadFile

from ffedit.api.errors import UploadTooLarge
from ffedit.api.schemas import FaceOut, JobOut, LayoutClassOut, LayoutOut, SampleOut
from ffedit.service.engine import Engine
from ffedit.service.errors import InvalidRequest
from ffedit.service.storage import FaceRecord, JobRecord, LayoutRecord, SampleRecord
from ffedit.service.views import MAX_ANGLE, ViewSpec

PNG_MEDIA_TYPE = "image/png"
PNG_RESPONSE = {200: {"content": {PNG_MEDIA_TYPE: {}}, "description": "a PNG image"}}
AngleForm = Annotated[
    float | None, Form(ge=-MAX_ANGLE, le=MAX_ANGLE, description="radians from the front view")
]
"""A yaw or pitch form field."""


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def read_upload(request: Request, upload: UploadFile) -> bytes:
    """The uploaded file's bytes; `UploadTooLarge` beyond the configured limit."""
    limit = request.app.state.settings.max_upload_bytes
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(f"{upload.filename or 'the upload'} is larger than {limit} bytes")
    return data


def view_of(view: str | None, yaw: float | None, pitch: float | None) -> ViewSpec:
    """A named view, or yaw/pitch radians from the front (front when nothing is given)."""
    if view is not None and (yaw is not None or pitch is not None):
        raise InvalidRequest("give either view or yaw/pitch, not both")
    if view is not None:
        return ViewSpec(name=view)
    if yaw is None and pitch is None:
        return ViewSpec(name="front")
    return ViewSpec(yaw=yaw or 0.0, pitch=pitch or 0.0)


def face_out(record: FaceRecord) -> FaceOut:
    return FaceOut(
        id=record.id, origin=record.origin, parent_id=record.parent_id, created_at=record.created_at
    )


def layout_out(engine: Engine, record: LayoutRecord) -> LayoutOut:
    definition = record.definition
    return LayoutOut(
        id=record.id,
        name=record.name,
        base=definition.get("base"),
        builtin=record.builtin,
        classes=[
            LayoutClassOut(name=c["name"], color=tuple(c["color"])) for c in definition["classes"]
        ],
        trained=record.adapter_path is not None,
        can_predict=engine.can_predict(record),
        training=engine.is_training(record.id),
        training_report=record.training_report,
        created_at=record.created_at,
    )


def sample_out(record: SampleRecord) -> SampleOut:
    return SampleOut(
        id=record.id,
        layout_id=record.layout_id,
        face_id=record.face_id,
        view=record.view,
        created_at=record.created_at,
    )


def job_out(record: JobRecord, with_preview: bool = True) -> JobOut:
    """The job's answer; `with_preview` False leaves out the progress preview (lists)."""
    progress = record.progress
    if not with_preview and progress.get("preview_png") is not None:
        progress = {**progress, "preview_png": None}
    return JobOut(
        id=record.id,
        kind=record.kind,
        status=record.status.value,
        params=record.params,
        progress=progress,
        result=record.result,
        error=record.error,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
    )
