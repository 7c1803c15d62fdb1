"""Jobs: list, get, download a job's file, cancel, delete, and live events over a WebSocket."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse

from ffedit.api.auth import OwnerId
from ffedit.api.routes.common import engine_of, job_out
from ffedit.api.schemas import JobOut
from ffedit.service.errors import NotFound

DOWNLOAD_MEDIA_TYPES = {
    ".zip": "application/zip",
    ".png": "image/png",
    ".glb": "model/gltf-binary",
    ".ply": "application/octet-stream",
}
"""What a job's output file is served as, by its suffix."""

router = APIRouter(prefix="/jobs", tags=["jobs"])
DEFAULT_PAGE = 50
MAX_PAGE = 200


@router.get("", response_model=list[JobOut])
def list_jobs(
    request: Request,
    owner: OwnerId,
    status: Annotated[
        Literal["queued", "running", "succeeded", "failed", "cancelled"] | None,
        Query(description="only jobs with this status (a reloaded page asks for running ones)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> list[JobOut]:
    """Your jobs, newest first, a page at a time; without their preview images
    (`GET /jobs/{id}` and the WebSocket have them)."""
    jobs = engine_of(request).list_jobs(owner, status, limit, offset)
    return [job_out(job, with_preview=False) for job in jobs]


@router.get("/{job_id}", response_model=JobOut)
def get_job(request: Request, owner: OwnerId, job_id: str) -> JobOut:
    return job_out(engine_of(request).get_job(owner, job_id))


@router.get(
    "/{job_id}/download",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"application/zip": {}, "image/png": {}},
            "description": "the job's file",
        }
    },
)
def download_job_file(request: Request, owner: OwnerId, job_id: str) -> FileResponse:
    """The file a succeeded job made (an export's ZIP, a large render's PNG, a mesh's GLB or
    PLY); 409 before it succeeded."""
    path, record = engine_of(request).job_file(owner, job_id)
    name = f"face-{record.params.get('face_id', job_id)}{path.suffix}"
    return FileResponse(path, media_type=DOWNLOAD_MEDIA_TYPES[path.suffix], filename=name)


@router.post("/{job_id}/cancel", response_model=JobOut)
def cancel_job(request: Request, owner: OwnerId, job_id: str) -> JobOut:
    """Cancel: a queued job at once, a running one after its current step."""
    return job_out(engine_of(request).cancel_job(owner, job_id))


@router.delete("/{job_id}", status_code=204)
def delete_job(request: Request, owner: OwnerId, job_id: str) -> None:
    """Delete a finished job and its files (409 while queued or running)."""
    engine_of(request).delete_job(owner, job_id)


@router.websocket("/{job_id}/events")
async def job_events(websocket: WebSocket, owner: OwnerId, job_id: str) -> None:
    """The job's current state, then every progress and status event until it ends.

    Messages: {"type": "progress", "job_id", "step", "total", "losses", "preview_png"} and
    {"type": "status", "job_id", "status", "result", "error"}; an unknown job (or another
    user's) gets
    {"type": "error", "error": "not found", "detail": …} and the socket closes (code 4404).
    """
    await websocket.accept()
    engine = websocket.app.state.engine
    try:
        events = engine.job_events(owner, job_id)
    except NotFound as error:
        await websocket.send_json({"type": "error", "error": "not found", "detail": str(error)})
        await websocket.close(code=4404)
        return
    try:
        async for event in events:
            await websocket.send_json(event)
    except WebSocketDisconnect:
        return
    await websocket.close()
