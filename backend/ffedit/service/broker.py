"""Jobs and renders on Celery workers over Redis: the web side and the worker side share this.

With `FFEDIT_BROKER_URL=redis://…` the web process holds no model (`ffedit.service.remote`):
model work goes to `ffedit worker` processes (`ffedit.service.worker`), each holding the model
on one device, through two Celery queues on the Redis broker:

- `render` (`CALL_TASK`): an Engine operation that needs the model (a render, a face from a
  seed, an edit's check), called by name with JSON-encoded arguments (`encode`); the worker
  pushes the encoded answer, or the domain error it raised, to a Redis list the caller waits
  on (`WorkerCalls`);
- `jobs` (`RUN_JOB_TASK`): a stored job by id (`CeleryJobs.submit` stores it first, inputs and
  all, so the job needs nothing else): the worker runs `Engine.run_job` on it.

`CeleryJobs` is the Celery twin of the embedded `JobRunner` (same `submit`, `cancel`,
`subscribe`, `shutdown`): progress and status go to the shared storage and are published on
the job's Redis channel, which a WebSocket's `subscribe` reads; a cancel of a running job is
a Redis key its worker checks at each `should_stop()`.

A worker that dies: each worker refreshes a heartbeat key (`WORKER_TTL_S`) and names itself
on the jobs it runs; the web process's `LostJobMonitor` fails a running job whose worker's
heartbeat has expired, with `WORKER_LOST_REASON` (the job is not retried; its inputs are
kept), and the other workers go on. A job message a killed worker had taken but not started
comes back to the queue after `VISIBILITY_TIMEOUT_S`.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping

import numpy as np
import redis
import redis.asyncio
from celery import Celery

from ffedit.edit.errors import NothingToEdit
from ffedit.service import errors
from ffedit.service.errors import (
    Conflict,
    NotFound,
    NotWanted,
    QueueFull,
    WorkerFailed,
    WorkersUnavailable,
)
from ffedit.service.jobs import (
    Event,
    JobFn,
    is_final_event,
    job_ending,
    progress_event,
    progress_report,
    run_job_function,
    status_event,
)
from ffedit.service.storage import (
    SINGLE_USER_OWNER,
    FaceRecord,
    JobRecord,
    JobStatus,
    SampleRecord,
    Storage,
)
from ffedit.service.views import ViewSpec

log = logging.getLogger(__name__)

RENDER_QUEUE = "render"
JOBS_QUEUE = "jobs"
QUEUES = (RENDER_QUEUE, JOBS_QUEUE)
CALL_TASK = "ffedit.call"
RUN_JOB_TASK = "ffedit.run_job"
HEARTBEAT_S = 1.0
"""How often a worker refreshes its heartbeat key."""
WORKER_TTL_S = 5.0
"""A worker whose heartbeat is this old is lost: its running job fails."""
MONITOR_INTERVAL_S = 1.0
"""How often the web process looks for jobs of lost workers."""
VISIBILITY_TIMEOUT_S = 60
"""A message a worker took but did not start is given to another after this long."""
MAX_WAITING_JOBS = 64
"""Jobs of everyone that may wait in the broker's queue (`QueueFull` beyond)."""
CANCEL_CHECK_S = 0.2
ANSWER_POLL_S = 0.1
"""How often a call whose caller may stop wanting it (a render) looks at `wanted()`."""
"""Least time between two looks at a running job's cancel key."""
WORKER_LOST_REASON = (
    "the worker running the job stopped (killed or lost) before it finished; nothing you "
    "stored was lost: start the job again"
)


def celery_app(broker_url: str) -> Celery:
    """The Celery app of ffedit's queues on `broker_url` (JSON messages only, no results
    backend: answers travel through `WorkerCalls`)."""
    app = Celery("ffedit", broker=broker_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_routes={CALL_TASK: {"queue": RENDER_QUEUE}, RUN_JOB_TASK: {"queue": JOBS_QUEUE}},
        task_default_queue=RENDER_QUEUE,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


def worker_key(name: str) -> str:
    return f"ffedit:worker:{name}"


def job_worker_key(job_id: str) -> str:
    return f"ffedit:job-worker:{job_id}"


def cancel_key(job_id: str) -> str:
    return f"ffedit:cancel:{job_id}"


def job_channel(job_id: str) -> str:
    return f"ffedit:job:{job_id}"


def unwanted_key(reply: str) -> str:
    """Set when the caller waiting on `reply` no longer wants the answer."""
    return f"{reply}:unwanted"


# ------------------------------------------------------------ calls to a worker's Engine

_TRANSPORTED_ERRORS = {
    name: getattr(errors, name)
    for name in errors.__all__
    if isinstance(getattr(errors, name), type)
} | {"NothingToEdit": NothingToEdit}
"""The domain errors a worker's answer carries back by name (anything else: `WorkerFailed`)."""


def encode(value: object) -> object:
    """A JSON-ready form of an Engine argument or answer: bytes, arrays, views and records
    (by id: the storage is shared) are tagged dicts."""
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {"array": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, ViewSpec):
        return {"view": value.to_dict()}
    for kind, record_type in (("face", FaceRecord), ("job", JobRecord), ("sample", SampleRecord)):
        if isinstance(value, record_type):
            return {kind: value.id}
    if isinstance(value, dict):
        return {"dict": {key: encode(item) for key, item in value.items()}}
    if isinstance(value, tuple | list):
        return {"list": [encode(item) for item in value]}
    return value


def decode(value: object, storage: Storage) -> object:
    """The value `encode` made (records read back from `storage`, lists as tuples)."""
    if not isinstance(value, dict):
        return value
    ((tag, content),) = value.items()
    if tag == "bytes":
        return base64.b64decode(content)
    if tag == "array":
        return np.load(io.BytesIO(base64.b64decode(content)), allow_pickle=False)
    if tag == "view":
        return ViewSpec.from_dict(content)
    if tag == "face":
        return storage.get_face(content, owner=None)
    if tag == "job":
        return storage.get_job(content, owner=None)
    if tag == "sample":
        return storage.get_sample(content, owner=None)
    if tag == "dict":
        return {key: decode(item, storage) for key, item in content.items()}
    if tag == "list":
        return tuple(decode(item, storage) for item in content)
    raise ValueError(f"unknown encoded value {tag!r}")


def is_domain_error(error: Exception) -> bool:
    """An error a worker's answer carries back as itself (bad input, not a fault)."""
    return type(error).__name__ in _TRANSPORTED_ERRORS


def error_answer(error: Exception) -> dict:
    """A worker's answer for an operation that raised `error`."""
    answer = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, NotFound):
        answer |= {"kind": error.kind, "id": error.id}
    return {"error": answer}


def error_of_answer(answer: dict) -> Exception:
    """The exception a worker's error answer stands for."""
    kind = _TRANSPORTED_ERRORS.get(answer["type"])
    if kind is None:
        return WorkerFailed(f"a worker failed ({answer['type']}): {answer['message']}")
    if kind is NotFound:
        return NotFound(answer["kind"], answer["id"])
    error = kind.__new__(kind)
    Exception.__init__(error, answer["message"])
    return error


class WorkerCalls:
    """Calls of Engine operations on whichever worker takes them from the `render` queue."""

    def __init__(self, app: Celery, broker_url: str, storage: Storage, timeout_s: float):
        self._app = app
        # its own connections: a call waits up to `timeout_s` for its answer (BLPOP)
        self._redis = redis.Redis.from_url(broker_url, socket_timeout=timeout_s + 10)
        self._storage = storage
        self._timeout_s = timeout_s

    def close(self) -> None:
        self._redis.close()

    def call(self, method: str, *args: object, wanted: Callable[[], bool] | None = None) -> object:
        """`method(*args)` of a worker's Engine; its answer, or the error it raised
        (`WorkersUnavailable` when none answers within the timeout). `wanted`: asked while
        waiting; once False the worker is told (a render it has not begun is skipped, as
        the Engine's own `wanted` does) and `NotWanted` is raised at once."""
        reply = f"ffedit:reply:{uuid.uuid4().hex}"
        deadline = time.monotonic() + self._timeout_s
        try:
            self._app.send_task(
                CALL_TASK, args=[reply, method, encode(list(args))], expires=self._timeout_s
            )
            popped = None
            while popped is None and time.monotonic() < deadline:
                if wanted is not None and not wanted():
                    self._redis.set(unwanted_key(reply), 1, ex=int(self._timeout_s) + 10)
                    raise NotWanted()
                wait = self._timeout_s if wanted is None else ANSWER_POLL_S
                popped = self._redis.blpop([reply], timeout=wait)
        except (redis.RedisError, OSError) as error:
            raise WorkersUnavailable(f"the job broker cannot be reached ({error})") from None
        if popped is None:
            raise WorkersUnavailable(
                f"no worker answered within {self._timeout_s:g} s; start one with "
                "`ffedit worker`, or try again when the workers are less busy"
            )
        answer = json.loads(popped[1])
        if "error" in answer:
            raise error_of_answer(answer["error"])
        return decode(answer["value"], self._storage)


def answer_call(client: redis.Redis, reply: str, answer: dict) -> None:
    """Push a worker's answer where its caller waits (kept a little past the call timeout)."""
    client.rpush(reply, json.dumps(answer))
    client.expire(reply, 600)


# -------------------------------------------------------------------------- jobs


class WorkerJobContext:
    """A job's context on a worker (the `JobContext` interface): progress to the storage and
    the job's channel, throttled; a stop check reading the job's cancel key."""

    def __init__(self, job_id: str, jobs: CeleryJobs) -> None:
        self.job_id = job_id
        self._jobs = jobs
        self.cancel_requested = False
        self.stop_seen = False
        self.pending: dict | None = None
        self.last: dict = {}
        self._last_flush = float("-inf")
        self._last_cancel_check = float("-inf")

    def report(
        self,
        step: int,
        total: int,
        losses: Mapping[str, float],
        preview: bytes | None = None,
        stage: str | None = None,
    ) -> None:
        previous = (self.pending or self.last).get("preview_png")
        self.pending = progress_report(step, total, losses, preview, stage, previous)
        now = time.monotonic()
        if now - self._last_flush >= self._jobs.progress_interval_s:
            self._last_flush = now
            self.flush()

    def flush(self) -> None:
        if self.pending is None:
            return
        progress, self.pending = self.pending, None
        self._jobs.storage.update_job(self.job_id, progress=progress)
        self.last = progress
        self._jobs.publish(self.job_id, progress_event(self.job_id, progress))

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self.cancel_requested and now - self._last_cancel_check >= CANCEL_CHECK_S:
            self._last_cancel_check = now
            self.cancel_requested = bool(self._jobs.redis.exists(cancel_key(self.job_id)))
        self.stop_seen = self.stop_seen or self.cancel_requested
        return self.cancel_requested


class CeleryJobs:
    """The job queue on the broker: the `JobRunner` interface, and what workers run."""

    def __init__(self, storage: Storage, broker_url: str, progress_interval_s: float = 0.25):
        self.storage = storage
        self.broker_url = broker_url
        self.progress_interval_s = progress_interval_s
        self.app = celery_app(broker_url)
        self.redis = redis.Redis.from_url(broker_url)

    # ------------------------------------------------------------- web side

    def submit(
        self,
        kind: str,
        params: dict,
        fn: JobFn,
        inputs: Mapping[str, bytes] | None = None,
        owner: str = SINGLE_USER_OWNER,
    ) -> JobRecord:
        """Store the job (inputs first) as queued and send its id to the `jobs` queue; `fn`
        is the Engine's `run_job`, which the worker's own Engine runs (only the id travels)."""
        del fn
        waiting = len(self.storage.list_jobs(JobStatus.QUEUED, owner=None))
        if waiting >= MAX_WAITING_JOBS:
            raise QueueFull(f"{waiting} jobs are already waiting; try again when one has started")
        record = self.storage.add_job(kind, params, inputs, owner=owner)
        try:
            self.app.send_task(RUN_JOB_TASK, args=[record.id])
        except Exception as error:
            log.exception("could not queue job %s", record.id)
            self.finish(record.id, JobStatus.FAILED, None, "the job broker cannot be reached")
            raise WorkersUnavailable(f"the job broker cannot be reached ({error})") from None
        return record

    def resend_queued(self) -> list[str]:
        """Send every queued job's id to the `jobs` queue again (at the web process's start:
        a message lost with a Redis that kept nothing comes back; a job delivered twice runs
        once, as `run` skips a job that is no longer queued). The ids."""
        queued = [record.id for record in self.storage.list_jobs(JobStatus.QUEUED, owner=None)]
        for job_id in queued:
            self.app.send_task(RUN_JOB_TASK, args=[job_id])
        return queued

    def cancel(self, job_id: str) -> JobRecord:
        """Cancel: a queued job at once, a running one at its worker's next stop check."""
        record = self.storage.get_job(job_id, owner=None)
        if record.status is JobStatus.QUEUED:
            try:
                return self.finish(job_id, JobStatus.CANCELLED, None, None)
            except Conflict:  # a worker started it meanwhile
                record = self.storage.get_job(job_id, owner=None)
        if record.status is JobStatus.RUNNING:
            self.redis.set(cancel_key(job_id), 1, ex=24 * 3600)
        return record

    def subscribe(self, job_id: str) -> AsyncIterator[Event]:
        """The job's events for a WebSocket (`NotFound` at once for an unknown job): its
        current state, then its channel's events until the terminal status."""
        self.storage.get_job(job_id, owner=None)
        return self._stream(job_id)

    async def _stream(self, job_id: str) -> AsyncIterator[Event]:
        client = redis.asyncio.Redis.from_url(self.broker_url)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(job_channel(job_id))  # before the snapshot: nothing missed
            record = self.storage.get_job(job_id, owner=None)
            if record.progress:
                yield progress_event(job_id, record.progress)
            yield status_event(record)
            quiet_since = time.monotonic()
            while not record.status.is_terminal:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None:
                    event = json.loads(message["data"])
                    yield event
                    if is_final_event(event):
                        return
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > 5:  # a lost message: look at the record
                    record = await asyncio.to_thread(self.storage.get_job, job_id, owner=None)
                    if record.status.is_terminal:
                        yield status_event(record)
                    quiet_since = time.monotonic()
        finally:
            await pubsub.aclose()
            await client.aclose()

    def fail_lost_jobs(self) -> list[str]:
        """Fail the running jobs whose worker's heartbeat has expired; their ids."""
        failed = []
        for record in self.storage.list_jobs(JobStatus.RUNNING, owner=None):
            name = self.redis.get(job_worker_key(record.id))
            if name is not None and self.redis.exists(worker_key(name.decode())):
                continue
            try:
                self.finish(record.id, JobStatus.FAILED, None, WORKER_LOST_REASON)
            except (Conflict, NotFound):  # it ended meanwhile
                continue
            log.warning("job %s failed: its worker %s is lost", record.id, name)
            failed.append(record.id)
        return failed

    def shutdown(self) -> None:
        self.redis.close()

    # ------------------------------------------------------------ both sides

    def publish(self, job_id: str, event: Event) -> None:
        self.redis.publish(job_channel(job_id), json.dumps(event))

    def finish(
        self, job_id: str, status: JobStatus, result: dict | None, error: str | None
    ) -> JobRecord:
        record = self.storage.update_job(job_id, status=status, result=result, error=error)
        self.publish(job_id, status_event(record))
        return record

    # ----------------------------------------------------------- worker side

    def run(self, job_id: str, fn: JobFn, worker_name: str) -> None:
        """Run the stored job on this worker, if it is still queued (a cancelled, failed or
        deleted one is skipped): running → its ending, as the embedded runner does."""
        if not self.redis.set(job_worker_key(job_id), worker_name, nx=True, ex=7 * 24 * 3600):
            return  # another worker has it (a message delivered twice)
        try:
            try:
                record = self.storage.update_job(job_id, status=JobStatus.RUNNING)
            except (Conflict, NotFound):
                return
            log.info("running job %s (%s)", job_id, record.kind)
            self.publish(job_id, status_event(record))
            context = WorkerJobContext(job_id, self)
            result, error = run_job_function(fn, context)
            status, result, message = job_ending(
                result, error, context.stop_seen, context.cancel_requested, False
            )
            try:
                context.flush()
                self.finish(job_id, status, result, message)
            except (Conflict, NotFound):  # failed as lost meanwhile, or deleted
                log.warning("job %s ended after it was failed or deleted", job_id)
        finally:
            self.redis.delete(job_worker_key(job_id), cancel_key(job_id))


class LostJobMonitor:
    """The web process's thread failing the jobs of lost workers (`CeleryJobs.fail_lost_jobs`)."""

    def __init__(self, jobs: CeleryJobs, interval_s: float = MONITOR_INTERVAL_S) -> None:
        self._jobs = jobs
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="ffedit-monitor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._jobs.fail_lost_jobs()
            except Exception:
                log.exception("could not look for the jobs of lost workers")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
