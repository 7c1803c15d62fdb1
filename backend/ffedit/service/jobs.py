"""The job runner: long work (training, edits, video export) on one worker thread, in order.

`JobRunner.submit` stores the job of its owner (status queued, its input files on disk first)
and puts it in a FIFO queue; the worker runs one job function at a time, so at most one GPU
job runs. `cancel` and `subscribe` take any owner's job: the Engine checks the owner first. The
function gets a `JobContext`: `report(step, total, losses, preview, stage)` for progress and
`should_stop()` for cancellation; it returns a JSON-ready result dict (or None).

Progress is throttled: at most one report per `progress_interval_s` is persisted and published
(the last one is always flushed before the job ends). Subscribers (`subscribe`, for WebSocket
handlers in an asyncio loop) receive events in order:

    {"type": "progress", "job_id", "step", "total", "losses": {name: float}, "preview_png"}
    {"type": "status", "job_id", "status", "result", "error"}

where `preview_png` is the last preview as base64 PNG (or None); a progress event also has
"stage" (what its steps are, in words: "checking the training samples") when the job reports
steps other than its main ones. A subscriber first gets the job's current state (its last
progress, then its status) and the stream ends after the terminal status. Publishing and
persisting happen under one lock, so a subscriber never misses or duplicates an event between
its snapshot and the live stream.

Endings: the function returns → succeeded; it raises → failed, with a user-facing message
(`user_message`: the exception's sentence without server paths; only the kind of an OSError;
the traceback goes to the log); `cancel` was called → cancelled, whatever the function did
after `should_stop()` turned true; `shutdown` stopped it → failed with `SHUTDOWN_REASON`. A
cancel or a shutdown that lands after the function's last `should_stop()` (it never saw it)
does not rewrite a success: its result is already stored. Jobs left queued or running by a
dead process are the storage's business: call `Storage.mark_interrupted_jobs()` at startup,
before creating the runner.

`device_lock` is not taken by the runner itself: the Engine holds it around each GPU step, so
renders for the page interleave with a running job's steps.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping

from ffedit.service.errors import QueueFull, without_paths
from ffedit.service.storage import SINGLE_USER_OWNER, JobRecord, JobStatus, Storage

log = logging.getLogger(__name__)

SHUTDOWN_REASON = "the server shut down before the job finished"

Event = dict
"""One message to subscribers, JSON-ready (see the module docstring)."""


class RunnerStopped(RuntimeError):
    """`submit` after `shutdown`."""


class JobContext:
    """What a job function gets: its id, a progress reporter and a stop check."""

    def __init__(self, job_id: str, runner: JobRunner, active: _ActiveJob) -> None:
        self.job_id = job_id
        self._runner = runner
        self._active = active

    def report(
        self,
        step: int,
        total: int,
        losses: Mapping[str, float],
        preview: bytes | None = None,
        stage: str | None = None,
    ) -> None:
        """Record progress: `losses` by name (floats or 0-d tensors), `preview` PNG bytes,
        `stage` what these steps are in words (None: the job's main steps)."""
        self._runner._report(self._active, step, total, losses, preview, stage)

    def should_stop(self) -> bool:
        """True once the job was cancelled or the runner is shutting down; return soon then."""
        stop = self._active.cancel_requested or self._runner._stopping
        self._active.stop_seen = self._active.stop_seen or stop
        return stop


JobFn = Callable[[JobContext], dict | None]


class _ActiveJob:
    """The running job's in-memory state (guarded by the runner's lock)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.cancel_requested = False
        self.stop_seen = False
        """`should_stop()` answered True once: what the job did next is not its outcome."""
        self.pending_progress: dict | None = None
        self.last_progress: dict = {}
        self.last_flush = float("-inf")


def progress_report(
    step: int,
    total: int,
    losses: Mapping[str, float],
    preview: bytes | None,
    stage: str | None,
    previous_preview: str | None,
) -> dict:
    """The stored form of one progress report: a new `preview` (PNG bytes) as base64, or
    else the previous report's (`previous_preview`)."""
    progress = {
        "step": int(step),
        "total": int(total),
        "losses": {name: float(value) for name, value in losses.items()},
        "preview_png": previous_preview
        if preview is None
        else base64.b64encode(preview).decode("ascii"),
    }
    if stage is not None:
        progress["stage"] = stage
    return progress


def job_ending(
    result: dict | None, error: Exception | None, stop_seen: bool, cancelled: bool, stopping: bool
) -> tuple[JobStatus, dict | None, str | None]:
    """(status, result, error message) of a job function that returned `result` or raised
    `error`: a success it made before it saw a stop stands; else a cancel makes it
    cancelled, a shutdown failed with `SHUTDOWN_REASON`."""
    if error is None and not stop_seen:
        return JobStatus.SUCCEEDED, result, None
    if cancelled:
        return JobStatus.CANCELLED, None, None
    if stopping:
        return JobStatus.FAILED, None, SHUTDOWN_REASON
    if error is not None:
        return JobStatus.FAILED, None, user_message(error)
    return JobStatus.SUCCEEDED, result, None


def run_job_function(fn: JobFn, context: JobContext) -> tuple[dict | None, Exception | None]:
    """Call a job function: its JSON-ready result, or the exception it raised (logged)."""
    try:
        result = fn(context)
        json.dumps(result)
    except Exception as exc:
        log.exception("job %s failed", context.job_id)
        return None, exc
    return result, None


def progress_event(job_id: str, progress: dict) -> Event:
    return {"type": "progress", "job_id": job_id, **progress}


def status_event(record: JobRecord) -> Event:
    return {
        "type": "status",
        "job_id": record.id,
        "status": record.status.value,
        "result": record.result,
        "error": record.error,
    }


def is_final_event(event: Event) -> bool:
    return event["type"] == "status" and JobStatus(event["status"]).is_terminal


def user_message(error: Exception) -> str:
    """What a job's user reads of its failure: the exception's sentence with absolute paths
    replaced by '…', or only the kind of an OSError (its sentence is about server files); the
    log keeps the detail."""
    kind = type(error).__name__
    if isinstance(error, OSError):
        return f"the job failed on a server file ({kind}); the server's log has the details"
    return without_paths(str(error)) or kind


class JobRunner:
    """A FIFO queue of jobs and the single worker thread that runs them."""

    def __init__(
        self, storage: Storage, max_queue: int = 8, progress_interval_s: float = 0.25
    ) -> None:
        """`max_queue` bounds the jobs waiting (not the running one); `progress_interval_s` is
        the least time between two persisted progress reports (0.25 s: ≤ 4 writes/s)."""
        self.storage = storage
        self.device_lock = threading.Lock()
        self._max_queue = max_queue
        self._progress_interval_s = progress_interval_s
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._pending: deque[tuple[str, JobFn]] = deque()
        self._active: _ActiveJob | None = None
        self._subscribers: dict[str, list[Callable[[Event], None]]] = {}
        self._stopping = False
        self._worker = threading.Thread(target=self._work, name="ffedit-jobs", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------ public API

    def submit(
        self,
        kind: str,
        params: dict,
        fn: JobFn,
        inputs: Mapping[str, bytes] | None = None,
        owner: str = SINGLE_USER_OWNER,
    ) -> JobRecord:
        """Store a job of `owner` (and its input files) as queued and enqueue `fn` for the
        worker."""
        with self._lock:
            if self._stopping:
                raise RunnerStopped("the job runner has shut down")
            if len(self._pending) >= self._max_queue:
                raise QueueFull(
                    f"{len(self._pending)} jobs are already waiting; try again when one has started"
                )
            record = self.storage.add_job(kind, params, inputs, owner=owner)
            self._pending.append((record.id, fn))
            self._wakeup.notify()
        return record

    def cancel(self, job_id: str) -> JobRecord:
        """Cancel a job: a queued one at once, a running one at its next `should_stop()`.

        Returns the job's record as it is now (still running for a running job; unchanged for a
        finished one).
        """
        with self._lock:
            record = self.storage.get_job(job_id, owner=None)
            if record.status == JobStatus.QUEUED:
                self._pending = deque(item for item in self._pending if item[0] != job_id)
                return self._finish_locked(job_id, JobStatus.CANCELLED, None, None)
            if self._active is not None and self._active.job_id == job_id:
                self._active.cancel_requested = True
            return record

    def subscribe(self, job_id: str) -> AsyncIterator[Event]:
        """Events of a job for a consumer in the running asyncio loop (call from that loop).

        Raises `NotFound` at once for an unknown job. The iterator starts with the current state
        and ends after the terminal status event.
        """
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Event] = asyncio.Queue()

        def deliver(event: Event) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        with self._lock:
            record = self.storage.get_job(job_id, owner=None)
            if record.progress:
                events.put_nowait(progress_event(job_id, record.progress))
            events.put_nowait(status_event(record))
            if not record.status.is_terminal:
                self._subscribers.setdefault(job_id, []).append(deliver)
        return self._stream(job_id, events, deliver)

    def shutdown(self, timeout_s: float | None = 10.0) -> None:
        """Stop the worker: the running job is asked to stop, queued jobs fail; waits for it."""
        with self._lock:
            self._stopping = True
            pending, self._pending = self._pending, deque()
            for job_id, _ in pending:
                self._finish_locked(job_id, JobStatus.FAILED, None, SHUTDOWN_REASON)
            self._wakeup.notify_all()
        self._worker.join(timeout_s)
        if self._worker.is_alive():
            log.warning("job worker still running after %s s; leaving it behind", timeout_s)

    # ------------------------------------------------------------- internals

    async def _stream(
        self, job_id: str, events: asyncio.Queue[Event], deliver: Callable[[Event], None]
    ) -> AsyncIterator[Event]:
        try:
            while True:
                event = await events.get()
                yield event
                if is_final_event(event):
                    return
        finally:
            with self._lock:
                subscribers = self._subscribers.get(job_id, [])
                if deliver in subscribers:
                    subscribers.remove(deliver)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._wakeup.wait()
                if self._stopping:
                    return
                job_id, fn = self._pending.popleft()
                active = self._start_locked(job_id)
            if active is not None:
                self._run(active, fn)

    def _start_locked(self, job_id: str) -> _ActiveJob | None:
        try:
            record = self.storage.update_job(job_id, status=JobStatus.RUNNING)
        except Exception:
            log.exception("could not start job %s", job_id)
            return None
        self._active = _ActiveJob(job_id)
        self._publish_locked(job_id, status_event(record))
        return self._active

    def _run(self, active: _ActiveJob, fn: JobFn) -> None:
        job_id = active.job_id
        result, exc = run_job_function(fn, JobContext(job_id, self, active))
        with self._lock:
            status, result, error = job_ending(
                result, exc, active.stop_seen, active.cancel_requested, self._stopping
            )
            try:
                self._flush_progress_locked(active)
                self._finish_locked(job_id, status, result, error)
            except Exception:
                log.exception("could not record the end of job %s", job_id)
            self._active = None

    def _report(
        self,
        active: _ActiveJob,
        step: int,
        total: int,
        losses: Mapping[str, float],
        preview: bytes | None,
        stage: str | None = None,
    ) -> None:
        now = time.monotonic()
        with self._lock:
            previous_preview = (active.pending_progress or active.last_progress).get("preview_png")
            active.pending_progress = progress_report(
                step, total, losses, preview, stage, previous_preview
            )
            if now - active.last_flush >= self._progress_interval_s:
                active.last_flush = now
                self._flush_progress_locked(active)

    def _flush_progress_locked(self, active: _ActiveJob) -> None:
        if active.pending_progress is None:
            return
        progress, active.pending_progress = active.pending_progress, None
        self.storage.update_job(active.job_id, progress=progress)
        active.last_progress = progress
        self._publish_locked(active.job_id, progress_event(active.job_id, progress))

    def _finish_locked(
        self, job_id: str, status: JobStatus, result: dict | None, error: str | None
    ) -> JobRecord:
        record = self.storage.update_job(job_id, status=status, result=result, error=error)
        self._publish_locked(job_id, status_event(record))
        self._subscribers.pop(job_id, None)
        return record

    def _publish_locked(self, job_id: str, event: Event) -> None:
        for deliver in list(self._subscribers.get(job_id, [])):
            try:
                deliver(event)
            except RuntimeError:  # the subscriber's event loop is closed
                self._subscribers[job_id].remove(deliver)
