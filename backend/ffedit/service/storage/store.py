"""`Storage`: the web app's persistent records and files (faces, layouts with samples, jobs).

One SQLite database (``ffedit.sqlite3``, WAL mode) under the data directory holds the records;
their files live next to it:

    faces/<face_id>/latent.safetensors        the face's ws (float32, key "latent") and any
                                              extra arrays stored with it (edits: the
                                              appearance lock)
    layouts/<layout_id>/samples/<id>.png      a training sample's mask, as uploaded or painted
    layouts/<layout_id>/adapter-<token>/...   the trained adapter, filled by a callback
    jobs/<job_id>/inputs/<name>               what a job reads, stored before it is queued
    jobs/<job_id>/outputs/<name>              what a job produced

Crash safety rests on three rules. Every file or folder is written under a temporary hidden
name in its final folder and renamed into place (``ffedit.io.files``), then flushed to disk, so
a reader sees it whole or not at all. A record is inserted only after its files are in place, and a
deletion removes the record before the files, so a record never points at missing files.
Whatever a crash can leave behind (hidden temporaries, files whose record was never written
or is already gone) is removed when a ``Storage`` opens the directory. A new trained adapter goes to
a new folder and the layout record is switched to it before the old folder is removed.

Ownership: every face, custom layout, sample and job has an `owner` (a user id, or
`SINGLE_USER_OWNER`), and every method a user's request reaches takes `owner` and finds only
that owner's records (plus the built-in layouts, which are shared): another owner's id is
`NotFound`, as an unknown one, and lists hold only the owner's. `owner=None` is the
service's own access to any record (the job runner's, a job's own files). Limits
(`StoredLimits`) count per owner. `adopt_unowned` gives the records of data folders made
before owners existed (and of deleted accounts) to one owner.

Deleting a face that training samples use is refused with ``Conflict`` (samples are the user's
annotations and are not thrown away as a side effect); delete those samples first. Deleting a
face that other faces were edited from keeps those faces and clears their ``parent_id``.
Deleting a layout deletes its samples and all its files. Built-in layouts cannot be deleted.

One connection is shared by all threads behind a lock, so the API thread and the job worker
can use one ``Storage``. Open one ``Storage`` per data directory per process: opening removes
leftovers, which would include the files another live instance is writing at that moment. A
server opens it ``exclusive``: it holds ``server.lock`` (``fcntl.flock``, released with the
process), and a second server on the same directory gets ``DataDirInUse`` before it touches
anything.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO

import numpy as np
import safetensors.numpy

from ffedit.io.files import atomic_folder, atomic_write_bytes, flush_to_disk
from ffedit.service.errors import (
    Conflict,
    DataDirInUse,
    DiskQuotaReached,
    InvalidFileName,
    LimitReached,
    NotFound,
)
from ffedit.service.storage.records import (
    _ALLOWED_TRANSITIONS,
    SINGLE_USER_OWNER,
    FaceRecord,
    JobRecord,
    JobStatus,
    LayoutRecord,
    SampleRecord,
    StoredLimits,
    new_id,
)
from ffedit.service.storage.schema import (
    ADAPTER_DIR_PREFIX,
    WS_FILE_NAME,
    WS_KEY,
    immediate_transaction,
    open_database,
)

log = logging.getLogger(__name__)

INTERRUPTED_REASON = "server restarted while the job was running"
LOCK_NAME = "server.lock"
"""The lock file a server holds on its data folder (`Storage(exclusive=True)`)."""


def _lock_data_dir(data_dir: Path) -> IO[str]:
    """The open lock file of `data_dir`, locked for this process (`DataDirInUse` when another
    process holds it; the lock goes with the process, even after kill -9)."""
    handle = open(data_dir / LOCK_NAME, "a+")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DataDirInUse(
            f"another ffedit server is using the data directory {data_dir}; stop it, or give "
            "this one its own FFEDIT_DATA_DIR"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _place_folder(path: Path, fill: Callable[[Path], None]) -> None:
    """Create the folder `path` whole (`fill` fills a staging folder) and flush it to disk."""
    with atomic_folder(path) as staging:
        fill(staging)
    flush_to_disk(path)


def _place_file(path: Path, data: bytes) -> None:
    """Create or replace the file `path` whole and flush it to disk."""
    atomic_write_bytes(path, data)
    flush_to_disk(path)


NO_LIMITS = StoredLimits()
FACES_ROOM = "faces"
LAYOUTS_ROOM = "layouts"
SAMPLES_ROOM = "samples"
QUEUED_JOBS_ROOM = "queued jobs"
_ROOM_COUNTS = {
    FACES_ROOM: "SELECT COUNT(*) FROM faces WHERE owner = ?",
    LAYOUTS_ROOM: "SELECT COUNT(*) FROM layouts WHERE builtin = 0 AND owner = ?",
    SAMPLES_ROOM: "SELECT COUNT(*) FROM samples WHERE owner = ? AND layout_id = ?",
    QUEUED_JOBS_ROOM: "SELECT COUNT(*) FROM jobs WHERE owner = ? AND status = 'queued'",
}
_OWN_FILES = (
    ("SELECT id FROM faces WHERE owner = ?", "faces/{}"),
    (
        "SELECT id || '/' || adapter_dir FROM layouts WHERE owner = ? AND adapter_dir IS NOT NULL",
        "layouts/{}",
    ),
    ("SELECT layout_id || '/samples/' || id || '.png' FROM samples WHERE owner = ?", "layouts/{}"),
    ("SELECT id FROM jobs WHERE owner = ?", "jobs/{}"),
)
"""What an owner's disk use counts: (the SQL of its paths, their form under the data dir)."""


def _ensure_room(
    db: sqlite3.Connection,
    kind: str,
    limit: int | None,
    owner: str,
    layout_id: str | None = None,
) -> None:
    """`LimitReached` when the owner has `limit` records of `kind` stored already (inside a
    transaction: the count and the insert after it are one step)."""
    if limit is None:
        return
    args = (owner, layout_id) if kind == SAMPLES_ROOM else (owner,)
    if int(db.execute(_ROOM_COUNTS[kind], args).fetchone()[0]) < limit:
        return
    if kind == SAMPLES_ROOM:
        name = db.execute("SELECT name FROM layouts WHERE id = ?", (layout_id,)).fetchone()
        layout = repr(name[0]) if name else repr(layout_id)
        raise LimitReached(f"layout {layout} keeps at most {limit} samples; delete some first")
    if kind == QUEUED_JOBS_ROOM:
        raise LimitReached(
            f"you have {limit} jobs waiting already (the most one user may queue); wait for "
            "one to start or cancel one"
        )
    raise LimitReached(f"this server keeps at most {limit} {kind} per user; delete some first")


def _tree_bytes(path: Path) -> int:
    """Bytes of the file `path`, or of the files under the folder `path` (0 when missing)."""
    if path.is_file():
        return path.stat().st_size
    return sum(
        (Path(folder) / name).stat().st_size
        for folder, _, names in os.walk(path)
        for name in names
        if not (Path(folder) / name).is_symlink()
    )


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _check_file_name(name: str) -> str:
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise InvalidFileName(f"{name!r} is not a plain file name")
    return name


def _loads(text: str | None) -> dict | None:
    return None if text is None else json.loads(text)


class Storage:
    """Records in SQLite plus files under `data_dir`; safe to share between threads."""

    def __init__(
        self,
        data_dir: Path,
        exclusive: bool = False,
        limits: StoredLimits = NO_LIMITS,
        remove_leftovers: bool = True,
    ) -> None:
        """Open (and create) the data folder. `exclusive` (a server's storage): hold a lock
        file on it first, so that a second server refuses to start (`DataDirInUse`) instead of
        failing the first one's running jobs and removing its in-flight files as leftovers.
        `limits`: adding beyond them raises `LimitReached`. `remove_leftovers` False: a
        worker's storage, shared with a live web process and other workers, whose in-flight
        files are not leftovers (the web process removes them when it starts)."""
        self.data_dir = Path(data_dir)
        self.limits = limits
        for folder in (self._faces_dir, self._layouts_dir, self._jobs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock_data_dir(self.data_dir) if exclusive else None
        self._lock = threading.Lock()
        self._connection = open_database(self.data_dir)
        if remove_leftovers:
            self._remove_leftovers()

    def close(self) -> None:
        with self._lock:
            self._connection.close()
            if self._lock_file is not None:
                self._lock_file.close()  # releases the lock
                self._lock_file = None

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------- faces

    def add_face(
        self,
        ws: np.ndarray,
        origin: dict,
        parent_id: str | None = None,
        extra_arrays: Mapping[str, np.ndarray] | None = None,
        owner: str = SINGLE_USER_OWNER,
    ) -> FaceRecord:
        """Store a face's ws (any shape, kept as float32), optional named `extra_arrays` (float32,
        e.g. an edit's appearance lock) in the same file, and its record."""
        if parent_id is not None:
            self.get_face(parent_id, owner=owner)
        extra_arrays = dict(extra_arrays or {})
        if WS_KEY in extra_arrays:
            raise ValueError(f"{WS_KEY!r} is the ws array's own name, not an extra array")
        face_id = new_id()
        arrays = {WS_KEY: ws, **extra_arrays}
        ws_bytes = safetensors.numpy.save(
            {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in arrays.items()}
        )
        self.ensure_disk_room(owner, len(ws_bytes))

        def fill(folder: Path) -> None:
            (folder / WS_FILE_NAME).write_bytes(ws_bytes)

        folder = self._faces_dir / face_id
        _place_folder(folder, fill)
        try:
            with self._transaction() as db:
                _ensure_room(db, FACES_ROOM, self.limits.faces, owner)
                db.execute(
                    "INSERT INTO faces (id, owner, origin, parent_id, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (face_id, owner, json.dumps(origin), parent_id, time.time()),
                )
        except BaseException as error:
            _remove_path(folder)
            if isinstance(error, sqlite3.IntegrityError):
                raise NotFound("face", str(parent_id)) from error
            raise
        return self.get_face(face_id, owner=owner)

    def get_face(self, face_id: str, owner: str | None = SINGLE_USER_OWNER) -> FaceRecord:
        """The face `face_id` of `owner` (of anyone: None); `NotFound` otherwise."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM faces WHERE id = ? AND (? IS NULL OR owner = ?)",
                (face_id, owner, owner),
            ).fetchone()
        if row is None:
            raise NotFound("face", face_id)
        return self._face_from_row(row)

    def list_faces(self, owner: str = SINGLE_USER_OWNER) -> list[FaceRecord]:
        """The owner's faces, oldest first."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM faces WHERE owner = ? ORDER BY rowid", (owner,)
            ).fetchall()
        return [self._face_from_row(row) for row in rows]

    def load_face_ws(self, face_id: str) -> np.ndarray:
        """The face's ws as stored (float32)."""
        return self.load_face_arrays(face_id)[WS_KEY]

    def load_face_arrays(self, face_id: str) -> dict[str, np.ndarray]:
        """The face's ws (under `WS_KEY`) and its extra arrays, as stored (float32)."""
        face = self.get_face(face_id, owner=None)
        return safetensors.numpy.load(face.ws_path.read_bytes())

    def delete_face(self, face_id: str, owner: str = SINGLE_USER_OWNER) -> None:
        """Delete a face; refused while training samples use it (see the module docstring)."""
        with self._transaction() as db:
            found = db.execute(
                "SELECT 1 FROM faces WHERE id = ? AND owner = ?", (face_id, owner)
            ).fetchone()
            if found is None:
                raise NotFound("face", face_id)
            layouts = [
                row["name"]
                for row in db.execute(
                    "SELECT DISTINCT layouts.name FROM samples JOIN layouts"
                    " ON samples.layout_id = layouts.id WHERE samples.face_id = ?",
                    (face_id,),
                )
            ]
            if layouts:
                raise Conflict(
                    f"face {face_id!r} is used by training samples of the layout(s)"
                    f" {', '.join(sorted(layouts))}; delete those samples first"
                )
            db.execute("DELETE FROM faces WHERE id = ?", (face_id,))
        _remove_path(self._faces_dir / face_id)

    # -------------------------------------------------------------- layouts

    def add_layout(
        self,
        name: str,
        definition: dict,
        builtin: bool = False,
        owner: str = SINGLE_USER_OWNER,
    ) -> LayoutRecord:
        """Store a layout of `owner` (a built-in one has none) with no samples and no adapter;
        names are unique among the owner's and the built-in layouts."""
        layout_id = new_id()
        owner_or_none = None if builtin else owner
        definition_json = json.dumps(definition)
        folder = self._layouts_dir / layout_id
        _place_folder(folder, lambda staging: (staging / "samples").mkdir())
        try:
            with self._transaction() as db:
                taken = db.execute(
                    "SELECT 1 FROM layouts WHERE name = ? AND (builtin = 1 OR owner IS ?)",
                    (name, owner_or_none),
                ).fetchone()
                if taken is not None:
                    raise Conflict(f"a layout named {name!r} already exists")
                if not builtin:
                    _ensure_room(db, LAYOUTS_ROOM, self.limits.custom_layouts, owner)
                db.execute(
                    "INSERT INTO layouts (id, owner, name, definition, builtin, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (layout_id, owner_or_none, name, definition_json, int(builtin), time.time()),
                )
        except BaseException:
            _remove_path(folder)
            raise
        return self.get_layout(layout_id, owner=None)

    def get_layout(self, layout_id: str, owner: str | None = SINGLE_USER_OWNER) -> LayoutRecord:
        """The layout `layout_id` when it is built in or `owner`'s (anyone's: None)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM layouts WHERE id = ? AND (? IS NULL OR builtin = 1 OR owner = ?)",
                (layout_id, owner, owner),
            ).fetchone()
        if row is None:
            raise NotFound("layout", layout_id)
        return self._layout_from_row(row)

    def list_layouts(self, owner: str | None = SINGLE_USER_OWNER) -> list[LayoutRecord]:
        """The built-in layouts and the owner's (None: the built-in ones only), oldest first."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM layouts WHERE builtin = 1 OR owner = ? ORDER BY rowid", (owner,)
            ).fetchall()
        return [self._layout_from_row(row) for row in rows]

    def store_layout_adapter(
        self, layout_id: str, write_adapter: Callable[[Path], None], training_report: dict
    ) -> LayoutRecord:
        """Give the layout a trained adapter: `write_adapter` fills a fresh folder.

        The record switches to the new folder only once it is complete; the previous adapter's
        folder is removed afterwards.
        """
        self.get_layout(layout_id, owner=None)
        folder = self._layouts_dir / layout_id / f"{ADAPTER_DIR_PREFIX}{new_id()}"
        _place_folder(folder, write_adapter)
        with self._transaction() as db:
            row = db.execute(
                "SELECT adapter_dir FROM layouts WHERE id = ?", (layout_id,)
            ).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE layouts SET adapter_dir = ?, training_report = ? WHERE id = ?",
                    (folder.name, json.dumps(training_report), layout_id),
                )
        if row is None:
            _remove_path(folder)
            raise NotFound("layout", layout_id)
        if row["adapter_dir"] is not None:
            _remove_path(folder.parent / row["adapter_dir"])
        return self.get_layout(layout_id, owner=None)

    def delete_layout(self, layout_id: str, owner: str = SINGLE_USER_OWNER) -> None:
        """Delete a layout with its samples, adapter and files; built-in ones are refused."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT builtin FROM layouts WHERE id = ? AND (builtin = 1 OR owner = ?)",
                (layout_id, owner),
            ).fetchone()
            if row is None:
                raise NotFound("layout", layout_id)
            if row["builtin"]:
                raise Conflict(f"layout {layout_id!r} is built in and cannot be deleted")
            db.execute("DELETE FROM layouts WHERE id = ?", (layout_id,))
        _remove_path(self._layouts_dir / layout_id)

    # -------------------------------------------------------------- samples

    def add_sample(
        self,
        layout_id: str,
        face_id: str,
        view: dict,
        mask_png: bytes,
        owner: str = SINGLE_USER_OWNER,
    ) -> SampleRecord:
        """Store a sample's mask (indexed PNG bytes, validated by the caller) and its record:
        `owner`'s face on a layout of theirs (or a built-in one)."""
        self.get_layout(layout_id, owner=owner)
        self.get_face(face_id, owner=owner)
        self.ensure_disk_room(owner, len(mask_png))
        sample_id = new_id()
        path = self._sample_path(layout_id, sample_id)
        _place_file(path, mask_png)
        try:
            with self._transaction() as db:
                _ensure_room(db, SAMPLES_ROOM, self.limits.samples_per_layout, owner, layout_id)
                db.execute(
                    "INSERT INTO samples (id, owner, layout_id, face_id, view, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (sample_id, owner, layout_id, face_id, json.dumps(view), time.time()),
                )
        except BaseException as error:
            path.unlink(missing_ok=True)
            if isinstance(error, sqlite3.IntegrityError):
                raise NotFound("layout or face", f"{layout_id}/{face_id}") from error
            raise
        return self.get_sample(sample_id, owner=owner)

    def get_sample(self, sample_id: str, owner: str | None = SINGLE_USER_OWNER) -> SampleRecord:
        """A sample of `owner` (anyone's: None)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM samples WHERE id = ? AND (? IS NULL OR owner = ?)",
                (sample_id, owner, owner),
            ).fetchone()
        if row is None:
            raise NotFound("sample", sample_id)
        return self._sample_from_row(row)

    def list_samples(self, layout_id: str, owner: str = SINGLE_USER_OWNER) -> list[SampleRecord]:
        """The owner's samples of the layout, oldest first."""
        self.get_layout(layout_id, owner=owner)
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM samples WHERE layout_id = ? AND owner = ? ORDER BY rowid",
                (layout_id, owner),
            ).fetchall()
        return [self._sample_from_row(row) for row in rows]

    def delete_sample(self, sample_id: str, owner: str = SINGLE_USER_OWNER) -> None:
        sample = self.get_sample(sample_id, owner=owner)
        with self._transaction() as db:
            db.execute("DELETE FROM samples WHERE id = ?", (sample_id,))
        sample.mask_path.unlink(missing_ok=True)

    # ----------------------------------------------------------------- jobs

    def add_job(
        self,
        kind: str,
        params: dict,
        inputs: Mapping[str, bytes] | None = None,
        owner: str = SINGLE_USER_OWNER,
    ) -> JobRecord:
        """Store a queued job of `owner`; its `inputs` (file name → bytes) are on disk before
        the record."""
        job_id = new_id()
        params_json = json.dumps(params)
        input_items = [(_check_file_name(name), data) for name, data in (inputs or {}).items()]
        self.ensure_disk_room(owner, sum(len(data) for _, data in input_items))

        def fill(folder: Path) -> None:
            (folder / "inputs").mkdir()
            (folder / "outputs").mkdir()
            for name, data in input_items:
                (folder / "inputs" / name).write_bytes(data)

        folder = self._jobs_dir / job_id
        _place_folder(folder, fill)
        try:
            with self._transaction() as db:
                _ensure_room(db, QUEUED_JOBS_ROOM, self.limits.queued_jobs, owner)
                db.execute(
                    "INSERT INTO jobs (id, owner, kind, status, params, progress, created_at)"
                    " VALUES (?, ?, ?, ?, ?, '{}', ?)",
                    (job_id, owner, kind, JobStatus.QUEUED.value, params_json, time.time()),
                )
        except BaseException:
            _remove_path(folder)
            raise
        return self.get_job(job_id, owner=owner)

    def get_job(self, job_id: str, owner: str | None = SINGLE_USER_OWNER) -> JobRecord:
        """The job `job_id` of `owner` (of anyone: None); `NotFound` otherwise."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM jobs WHERE id = ? AND (? IS NULL OR owner = ?)",
                (job_id, owner, owner),
            ).fetchone()
        if row is None:
            raise NotFound("job", job_id)
        return self._job_from_row(row)

    def list_jobs(
        self,
        status: JobStatus | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
        owner: str | None = SINGLE_USER_OWNER,
    ) -> list[JobRecord]:
        """The owner's jobs (anyone's: None; those with `status`), oldest first (or newest
        first); `limit` and `offset` page them."""
        where, args = "WHERE (? IS NULL OR owner = ?)", (owner, owner)
        if status is not None:
            where, args = f"{where} AND status = ?", (*args, JobStatus(status).value)
        order = "DESC" if newest_first else "ASC"
        page = (-1 if limit is None else int(limit), int(offset))
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT * FROM jobs {where} ORDER BY rowid {order} LIMIT ? OFFSET ?", args + page
            ).fetchall()
        return [self._job_from_row(row) for row in rows]

    def ensure_room(
        self, kind: str, owner: str = SINGLE_USER_OWNER, layout_id: str | None = None
    ) -> None:
        """`LimitReached` now if one more record of `kind` (`FACES_ROOM`, `LAYOUTS_ROOM`,
        `SAMPLES_ROOM` of `layout_id`, `QUEUED_JOBS_ROOM`) of `owner` would pass its limit:
        a check before expensive work; the add itself checks again, atomically (and checks
        the disk quota)."""
        limit = {
            FACES_ROOM: self.limits.faces,
            LAYOUTS_ROOM: self.limits.custom_layouts,
            SAMPLES_ROOM: self.limits.samples_per_layout,
            QUEUED_JOBS_ROOM: self.limits.queued_jobs,
        }[kind]
        with self._transaction() as db:
            _ensure_room(db, kind, limit, owner, layout_id)

    def disk_bytes(self, owner: str) -> int:
        """Bytes of the owner's files: faces, custom layouts' adapters, samples, jobs."""
        with self._transaction() as db:
            paths = [
                form.format(row[0])
                for sql, form in _OWN_FILES
                for row in db.execute(sql, (owner,)).fetchall()
            ]
        return sum(_tree_bytes(self.data_dir / path) for path in paths)

    def ensure_disk_room(self, owner: str, adding: int) -> None:
        """`DiskQuotaReached` when the owner's files plus `adding` bytes would pass the quota
        (or already fill it). Measured before the write, outside its transaction: writes in
        flight together may pass the quota by their own size."""
        quota = self.limits.disk_bytes
        if quota is None:
            return
        used = self.disk_bytes(owner)
        if used + adding > quota or used >= quota:
            raise DiskQuotaReached(
                f"your files take {used} bytes of the {quota} bytes each user may keep here; "
                "delete faces, jobs or layouts first"
            )

    def adopt_unowned(self, owner: str, or_no_account: bool = False) -> int:
        """Give `owner` every face, custom layout, sample and job without an owner (data
        folders made before owners existed); with `or_no_account`, also those whose owner is
        no account (the single-user owner's, a deleted user's). A custom layout whose name
        `owner` already uses stays where it is. Returns how many records changed hands."""
        orphan = "owner IS NULL"
        if or_no_account:
            orphan = "(owner IS NULL OR owner NOT IN (SELECT id FROM users))"
        changed = 0
        with self._transaction() as db:
            for table, extra in (
                ("faces", ""),
                ("layouts", " AND builtin = 0"),
                ("samples", ""),
                ("jobs", ""),
            ):
                verb = "UPDATE OR IGNORE" if table == "layouts" else "UPDATE"
                cursor = db.execute(f"{verb} {table} SET owner = ? WHERE {orphan}{extra}", (owner,))
                changed += cursor.rowcount
        return changed

    def count_jobs(self) -> int:
        return self._count("SELECT COUNT(*) FROM jobs")

    def oldest_finished_jobs(self, count: int) -> list[str]:
        """Ids of the `count` oldest jobs that have ended (what pruning removes first)."""
        ended = tuple(status.value for status in JobStatus if status.is_terminal)
        marks = ", ".join("?" * len(ended))
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT id FROM jobs WHERE status IN ({marks}) ORDER BY rowid LIMIT ?",
                (*ended, int(count)),
            ).fetchall()
        return [row["id"] for row in rows]

    def _count(self, sql: str, args: tuple = ()) -> int:
        with self._transaction() as db:
            return int(db.execute(sql, args).fetchone()[0])

    def update_job(
        self,
        job_id: str,
        *,
        status: JobStatus | None = None,
        progress: dict | None = None,
        result: dict | None = None,
        error: str | None = None,
    ) -> JobRecord:
        """Change a job's status and/or progress, result, error; returns the new record.

        Status changes follow queued → running → succeeded/failed/cancelled (queued may also go
        straight to cancelled or failed); a finished job cannot change (`Conflict`). Entering
        running stamps `started_at`, a terminal status `finished_at`.
        """
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise NotFound("job", job_id)
            current = JobStatus(row["status"])
            if current.is_terminal:
                raise Conflict(f"job {job_id!r} has already {current.value}; it cannot change")
            if status is not None:
                status = JobStatus(status)
                if status not in _ALLOWED_TRANSITIONS[current]:
                    raise Conflict(f"job {job_id!r} is {current.value}; it cannot become {status}")
                db.execute(
                    "UPDATE jobs SET status = ?,"
                    " started_at = CASE WHEN ? THEN ? ELSE started_at END,"
                    " finished_at = CASE WHEN ? THEN ? ELSE finished_at END WHERE id = ?",
                    (
                        status.value,
                        status == JobStatus.RUNNING,
                        now,
                        status.is_terminal,
                        now,
                        job_id,
                    ),
                )
            if progress is not None:
                db.execute(
                    "UPDATE jobs SET progress = ? WHERE id = ?", (json.dumps(progress), job_id)
                )
            if result is not None:
                db.execute("UPDATE jobs SET result = ? WHERE id = ?", (json.dumps(result), job_id))
            if error is not None:
                db.execute("UPDATE jobs SET error = ? WHERE id = ?", (error, job_id))
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._job_from_row(row)

    def mark_interrupted_jobs(self, reason: str = INTERRUPTED_REASON) -> list[str]:
        """Fail every queued or running job with `reason`; call once at startup. Returns ids."""
        with self._transaction() as db:
            rows = db.execute(
                "UPDATE jobs SET status = ?, error = ?, finished_at = ?"
                " WHERE status IN (?, ?) RETURNING id",
                (
                    JobStatus.FAILED.value,
                    reason,
                    time.time(),
                    JobStatus.QUEUED.value,
                    JobStatus.RUNNING.value,
                ),
            ).fetchall()
        return sorted(row["id"] for row in rows)

    def delete_job(self, job_id: str, owner: str | None = SINGLE_USER_OWNER) -> None:
        """Delete a finished job of `owner` (anyone's: None) and its files; a queued or running
        one must be cancelled first."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT status FROM jobs WHERE id = ? AND (? IS NULL OR owner = ?)",
                (job_id, owner, owner),
            ).fetchone()
            if row is None:
                raise NotFound("job", job_id)
            if not JobStatus(row["status"]).is_terminal:
                raise Conflict(f"job {job_id!r} is {row['status']}; cancel it before deleting it")
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        _remove_path(self._jobs_dir / job_id)

    def job_input_path(self, job_id: str, name: str) -> Path:
        """The stored input file `name` of the job."""
        path = self._jobs_dir / job_id / "inputs" / _check_file_name(name)
        if not path.is_file():
            raise NotFound("job input", f"{job_id}/{name}")
        return path

    def job_output_path(self, job_id: str, name: str) -> Path:
        """The output file `name` the job wrote."""
        path = self._jobs_dir / job_id / "outputs" / _check_file_name(name)
        if not path.is_file():
            raise NotFound("job output", f"{job_id}/{name}")
        return path

    def write_job_output(self, job_id: str, name: str, data: bytes) -> Path:
        """Store (or replace) the job's output file `name` atomically; returns its path."""
        self.get_job(job_id, owner=None)
        path = self._jobs_dir / job_id / "outputs" / _check_file_name(name)
        _place_file(path, data)
        return path

    # ------------------------------------------------------------ internals

    @property
    def _faces_dir(self) -> Path:
        return self.data_dir / "faces"

    @property
    def _layouts_dir(self) -> Path:
        return self.data_dir / "layouts"

    @property
    def _jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    def _sample_path(self, layout_id: str, sample_id: str) -> Path:
        return self._layouts_dir / layout_id / "samples" / f"{sample_id}.png"

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._connection, self._lock)

    def _remove_leftovers(self) -> None:
        """Delete temporaries and files without a record (what a crash can leave behind)."""
        with self._transaction() as db:
            face_ids = {row[0] for row in db.execute("SELECT id FROM faces")}
            adapter_dirs = dict(db.execute("SELECT id, adapter_dir FROM layouts").fetchall())
            sample_files = {
                (row[0], f"{row[1]}.png") for row in db.execute("SELECT layout_id, id FROM samples")
            }
            job_ids = {row[0] for row in db.execute("SELECT id FROM jobs")}
        leftovers = [p for p in self._faces_dir.iterdir() if p.name not in face_ids]
        leftovers += [p for p in self._jobs_dir.iterdir() if p.name not in job_ids]
        for layout_dir in self._layouts_dir.iterdir():
            layout_id = layout_dir.name
            if layout_id not in adapter_dirs:
                leftovers.append(layout_dir)
                continue
            leftovers += [
                p
                for p in layout_dir.iterdir()
                if p.name.startswith(ADAPTER_DIR_PREFIX) and p.name != adapter_dirs[layout_id]
            ]
            samples_dir = layout_dir / "samples"
            if samples_dir.is_dir():
                leftovers += [
                    p for p in samples_dir.iterdir() if (layout_id, p.name) not in sample_files
                ]
        for root in (self._faces_dir, self._layouts_dir, self._jobs_dir):
            for folder, dirs, files in os.walk(root):
                leftovers += [Path(folder) / n for n in dirs + files if n.startswith(".")]
        for path in leftovers:
            log.info("removing leftover %s", path)
            _remove_path(path)

    def _face_from_row(self, row: sqlite3.Row) -> FaceRecord:
        return FaceRecord(
            id=row["id"],
            owner=row["owner"],
            ws_path=self._faces_dir / row["id"] / WS_FILE_NAME,
            origin=json.loads(row["origin"]),
            parent_id=row["parent_id"],
            created_at=row["created_at"],
        )

    def _layout_from_row(self, row: sqlite3.Row) -> LayoutRecord:
        adapter_dir = row["adapter_dir"]
        return LayoutRecord(
            id=row["id"],
            owner=row["owner"],
            name=row["name"],
            definition=json.loads(row["definition"]),
            builtin=bool(row["builtin"]),
            created_at=row["created_at"],
            adapter_path=None
            if adapter_dir is None
            else self._layouts_dir / row["id"] / adapter_dir,
            training_report=_loads(row["training_report"]),
        )

    def _sample_from_row(self, row: sqlite3.Row) -> SampleRecord:
        return SampleRecord(
            id=row["id"],
            owner=row["owner"],
            layout_id=row["layout_id"],
            face_id=row["face_id"],
            view=json.loads(row["view"]),
            mask_path=self._sample_path(row["layout_id"], row["id"]),
            created_at=row["created_at"],
        )

    def _job_from_row(self, row: sqlite3.Row) -> JobRecord:
        return JobRecord(
            id=row["id"],
            owner=row["owner"],
            kind=row["kind"],
            status=JobStatus(row["status"]),
            params=json.loads(row["params"]),
            progress=json.loads(row["progress"]),
            result=_loads(row["result"]),
            error=row["error"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )
