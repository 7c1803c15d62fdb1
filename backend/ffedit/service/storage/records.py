"""The storage's records: what a face, a layout, a training sample, a job and an account are,
as the rest of the service sees them (frozen dataclasses; `Storage` and `AccountStore` build
them from rows).

Every face, custom layout, sample and job has an `owner`: the id of the user who made it, or
`SINGLE_USER_OWNER` on a server without accounts. Built-in layouts have none (shared).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

SINGLE_USER_OWNER = "owner"
"""The one owner of a server without accounts (no account id has this form: `new_id`)."""


class JobStatus(StrEnum):
    """Where a job is in its life; the last three are terminal."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


_ALLOWED_TRANSITIONS = {
    JobStatus.QUEUED: {JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED},
    JobStatus.RUNNING: {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED},
}


@dataclass(frozen=True)
class FaceRecord:
    """A face: its latent file and where it came from."""

    id: str
    owner: str
    ws_path: Path
    """The ws file (safetensors: ws (num_ws, w_dim) under the key "latent", and any extra
    arrays stored with it)."""
    origin: dict
    """How it was made: {"seed": 3}, {"upload": "me.npy"} or {"edit": job_id}."""
    parent_id: str | None
    """The face this one was edited from (edit chains); None for a root or a deleted parent."""
    created_at: float
    """Seconds since the epoch."""


@dataclass(frozen=True)
class LayoutRecord:
    """A part layout: its definition (JSON), and the adapter once one is trained."""

    id: str
    owner: str | None
    """Its user; None for a built-in layout (shared, read-only)."""
    name: str
    definition: dict
    """Label names, colours and derivation, as the layouts package describes them (JSON)."""
    builtin: bool
    """Shipped with the app (base15, base17, ...): cannot be deleted."""
    created_at: float
    adapter_path: Path | None
    """Folder holding the trained adapter; None until training succeeds."""
    training_report: dict | None
    """What the training that made the adapter reported (losses, steps, time)."""


@dataclass(frozen=True)
class SampleRecord:
    """A few-shot training sample: a face seen from a view, with its painted mask."""

    id: str
    owner: str
    layout_id: str
    face_id: str
    view: dict
    """The camera: {"name": "front"} or {"yaw": 0.3, "pitch": -0.1}."""
    mask_path: Path
    """The mask as an indexed PNG."""
    created_at: float


@dataclass(frozen=True)
class JobRecord:
    """A long-running piece of work and its state."""

    id: str
    owner: str
    kind: str
    """What it does: "train-layout", "edit", "export-video", ..."""
    status: JobStatus
    params: dict
    progress: dict
    """The last persisted progress report ({} before the first)."""
    result: dict | None
    error: str | None
    """A plain sentence for the user when the job failed; never a traceback."""
    created_at: float
    started_at: float | None
    finished_at: float | None


def new_id() -> str:
    """A short random URL-safe id (11 characters, 64 random bits)."""
    return secrets.token_urlsafe(8)


@dataclass(frozen=True)
class UserRecord:
    """An account: its name, whether it administers the server, when it was made."""

    id: str
    name: str
    admin: bool
    created_at: float


@dataclass(frozen=True)
class TokenRecord:
    """A personal API token of a user (its secret is stored only as a hash)."""

    id: str
    user_id: str
    name: str
    created_at: float
    last_used_at: float | None


@dataclass(frozen=True)
class StoredLimits:
    """Most records of each kind a `Storage` keeps for each owner (None: no limit); checked
    in the same transaction as the insert, so simultaneous requests cannot pass a limit
    together."""

    faces: int | None = None
    """Faces of one owner."""
    custom_layouts: int | None = None
    """Custom layouts of one owner."""
    samples_per_layout: int | None = None
    queued_jobs: int | None = None
    """Jobs of one owner waiting to run."""
    disk_bytes: int | None = None
    """Bytes of files of one owner (faces, layouts with samples and adapters, jobs)."""
