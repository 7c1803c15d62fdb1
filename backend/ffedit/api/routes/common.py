"""What the routers share: the Engine of the app, upload reading, records → schemas."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Form, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

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
StreamQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="a page's request stream: a newer request of the same stream supersedes "
        "this one if it has not been rendered yet (409)",
    ),
]
DISCONNECT_POLL_S = 0.05
"""How often a waiting render checks whether its client is still there."""
Rendered = TypeVar("Rendered")


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def read_upload(request: Request, upload: UploadFile) -> bytes:
    """The uploaded file's bytes; `UploadTooLarge` beyond the configured limit."""
    limit = request.app.state.settings.max_upload_bytes
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(f"{upload.filename or 'the upload'} is larger than {limit} bytes")
    return data


def base64_text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def render_while_wanted(
    request: Request, stream: str | None, render: Callable[[Callable[[], bool]], Rendered]
) -> Rendered:
    """`render(wanted)` in the thread pool, where `wanted()` turns False once the client has
    disconnected or a newer request of `stream` has begun: a render no longer wanted when
    its turn on the device comes is not rendered (the engine raises `NotWanted`)."""
    is_newest = request.app.state.streams.begin(stream)
    client_left = threading.Event()

    async def watch_the_client() -> None:
        while not await request.is_disconnected():
            await asyncio.sleep(DISCONNECT_POLL_S)
        client_left.set()

    watcher = asyncio.create_task(watch_the_client())
    try:
        return await run_in_threadpool(render, lambda: is_newest() and not client_left.is_set())
    finally:
        watcher.cancel()


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
        training=engine.is_training(record),
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
