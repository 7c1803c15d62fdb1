"""JobRunner: lifecycle, failure, cancel, throttled progress, subscribers, shutdown, restart."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ffedit.service.jobs import (
    SHUTDOWN_REASON,
    JobContext,
    JobRunner,
    QueueFull,
    RunnerStopped,
)
from ffedit.service.storage import INTERRUPTED_REASON, JobRecord, JobStatus, NotFound, Storage

BACKEND_DIR = Path(__file__).resolve().parents[2] / "backend"
TIMEOUT_S = 5.0


class CountingStorage(Storage):
    """A Storage that counts the progress writes it receives."""

    progress_writes = 0

    def update_job(self, job_id, **changes) -> JobRecord:
        if changes.get("progress") is not None:
            self.progress_writes += 1
        return super().update_job(job_id, **changes)


@pytest.fixture
def storage(tmp_path: Path):
    with CountingStorage(tmp_path / "data") as opened:
        yield opened


@pytest.fixture
def runner(storage: Storage):
    started = JobRunner(storage, max_queue=4, progress_interval_s=0.0)
    yield started
    started.shutdown(timeout_s=TIMEOUT_S)


def run_in_fresh_loop(coroutine):
    """Run a coroutine on a new event loop in its own thread: another test module (the
    browser tests' Playwright sync API) may keep a loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def wait_until_finished(storage: Storage, job_id: str) -> JobRecord:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        record = storage.get_job(job_id)
        if record.status.is_terminal:
            return record
        time.sleep(0.005)
    raise AssertionError(f"job {job_id} still {record.status} after {TIMEOUT_S} s")


def blocking_job(gate: threading.Event, started: threading.Event | None = None):
    def run(ctx: JobContext) -> dict:
        if started is not None:
            started.set()
        assert gate.wait(TIMEOUT_S)
        return {"job": ctx.job_id}

    return run


def test_job_runs_to_success_with_result_and_progress(runner: JobRunner, storage: Storage):
    def train(ctx: JobContext) -> dict:
        for step in range(1, 4):
            ctx.report(step, 3, {"ce": 1.0 / step}, preview=b"png%d" % step if step < 3 else None)
        return {"adapter": "a1", "job": ctx.job_id}

    queued = runner.submit("train-layout", {"layout_id": "L"}, train, {"mask.png": b"m"})
    assert queued.status == JobStatus.QUEUED
    assert storage.job_input_path(queued.id, "mask.png").read_bytes() == b"m"

    done = wait_until_finished(storage, queued.id)
    assert done.status == JobStatus.SUCCEEDED and done.error is None
    assert done.result == {"adapter": "a1", "job": queued.id}
    assert done.params == {"layout_id": "L"}
    assert done.progress["step"] == 3 and done.progress["losses"] == {"ce": pytest.approx(1 / 3)}
    assert base64.b64decode(done.progress["preview_png"]) == b"png2", "last preview is kept"
    assert done.created_at <= done.started_at <= done.finished_at


def test_exception_fails_the_job_with_its_message_and_no_traceback(
    runner: JobRunner, storage: Storage, caplog: pytest.LogCaptureFixture
):
    def broken(ctx: JobContext) -> dict:
        raise ValueError("the mask has a colour that is not in the layout")

    failed = wait_until_finished(storage, runner.submit("edit", {}, broken).id)
    assert failed.status == JobStatus.FAILED and failed.result is None
    assert failed.error == "the mask has a colour that is not in the layout"
    assert "Traceback" in caplog.text, "the traceback goes to the log"

    not_json = wait_until_finished(storage, runner.submit("edit", {}, lambda ctx: {"x": {1, 2}}).id)
    assert not_json.status == JobStatus.FAILED and "JSON serializable" in not_json.error

    after = wait_until_finished(storage, runner.submit("edit", {}, lambda ctx: None).id)
    assert after.status == JobStatus.SUCCEEDED, "the worker survives failures"


def test_jobs_run_one_at_a_time_in_submission_order(runner: JobRunner, storage: Storage):
    order: list[int] = []
    running = threading.Lock()

    def job(index: int):
        def run(ctx: JobContext) -> None:
            assert running.acquire(blocking=False), "two jobs ran at once"
            order.append(index)
            time.sleep(0.01)
            running.release()

        return run

    ids = [runner.submit("edit", {}, job(index)).id for index in range(4)]
    records = [wait_until_finished(storage, job_id) for job_id in ids]
    assert order == [0, 1, 2, 3]
    assert all(record.status == JobStatus.SUCCEEDED for record in records)


def test_cancel_while_queued_never_runs_the_job(runner: JobRunner, storage: Storage):
    gate, started = threading.Event(), threading.Event()
    first = runner.submit("train-layout", {}, blocking_job(gate, started))
    assert started.wait(TIMEOUT_S)
    ran = threading.Event()
    second = runner.submit("edit", {}, lambda ctx: ran.set())

    cancelled = runner.cancel(second.id)
    assert cancelled.status == JobStatus.CANCELLED and cancelled.finished_at is not None
    gate.set()
    assert wait_until_finished(storage, first.id).status == JobStatus.SUCCEEDED
    runner.shutdown(timeout_s=TIMEOUT_S)
    assert not ran.is_set()
    assert storage.get_job(second.id).status == JobStatus.CANCELLED
    assert runner.cancel(second.id).status == JobStatus.CANCELLED, "cancel is idempotent"


def test_cancel_while_running_stops_the_job(runner: JobRunner, storage: Storage):
    started = threading.Event()

    def loop(ctx: JobContext) -> dict:
        started.set()
        step = 0
        while not ctx.should_stop():
            step += 1
            ctx.report(step, 10**6, {"l1": 0.5})
            time.sleep(0.002)
        return {"partial": step}

    job = runner.submit("edit", {}, loop)
    assert started.wait(TIMEOUT_S)
    assert runner.cancel(job.id).status == JobStatus.RUNNING
    record = wait_until_finished(storage, job.id)
    assert record.status == JobStatus.CANCELLED
    assert record.result is None and record.error is None
    assert record.progress["step"] >= 1


def test_progress_writes_are_throttled_and_the_last_report_is_kept(storage: CountingStorage):
    interval_s = 0.05
    runner = JobRunner(storage, progress_interval_s=interval_s)

    def fast(ctx: JobContext) -> None:
        for step in range(1, 301):
            ctx.report(step, 300, {"loss": step})
            time.sleep(0.001)

    try:
        began = time.monotonic()
        record = wait_until_finished(storage, runner.submit("train-layout", {}, fast).id)
        elapsed_s = time.monotonic() - began
    finally:
        runner.shutdown(timeout_s=TIMEOUT_S)
    assert record.progress["step"] == 300, "the final report is flushed"
    assert 2 <= storage.progress_writes <= elapsed_s / interval_s + 2
    assert storage.progress_writes < 300 / 4


def test_subscriber_receives_ordered_events_and_ends(runner: JobRunner):
    gate = threading.Event()

    def steps(ctx: JobContext) -> dict:
        assert gate.wait(TIMEOUT_S)
        for step in range(1, 6):
            ctx.report(step, 5, {"ce": step / 10})
        return {"done": True}

    async def collect() -> list[dict]:
        job = runner.submit("train-layout", {}, steps)
        events = runner.subscribe(job.id)
        gate.set()
        return [event async for event in events]

    events = run_in_fresh_loop(asyncio.wait_for(collect(), TIMEOUT_S))
    statuses = [event["status"] for event in events if event["type"] == "status"]
    assert statuses[-1] == "succeeded" and statuses[-2] == "running"
    assert statuses[0] in ("queued", "running")
    assert [event["step"] for event in events if event["type"] == "progress"] == [1, 2, 3, 4, 5]
    assert events[-1]["result"] == {"done": True}
    first_progress = next(i for i, event in enumerate(events) if event["type"] == "progress")
    assert events[first_progress - 1]["status"] == "running", "running comes before progress"


def test_late_subscriber_gets_the_current_state_first(runner: JobRunner, storage: Storage):
    reported, gate = threading.Event(), threading.Event()

    def job(ctx: JobContext) -> dict:
        ctx.report(7, 10, {"ce": 0.25}, preview=b"png")
        reported.set()
        assert gate.wait(TIMEOUT_S)
        return {"n": 1}

    submitted = runner.submit("edit", {}, job)
    assert reported.wait(TIMEOUT_S)

    async def follow_running() -> list[dict]:
        events = runner.subscribe(submitted.id)
        first = await anext(events)
        second = await anext(events)
        gate.set()
        return [first, second] + [event async for event in events]

    live = run_in_fresh_loop(asyncio.wait_for(follow_running(), TIMEOUT_S))
    assert live[0]["type"] == "progress" and live[0]["step"] == 7
    assert base64.b64decode(live[0]["preview_png"]) == b"png"
    assert live[1] == {
        "type": "status",
        "job_id": submitted.id,
        "status": "running",
        "result": None,
        "error": None,
    }
    assert live[-1]["status"] == "succeeded"

    async def follow_finished() -> list[dict]:
        return [event async for event in runner.subscribe(submitted.id)]

    late = run_in_fresh_loop(asyncio.wait_for(follow_finished(), TIMEOUT_S))
    assert [event["type"] for event in late] == ["progress", "status"]
    assert late[-1]["status"] == "succeeded" and late[-1]["result"] == {"n": 1}

    async def unknown() -> None:
        runner.subscribe("missing")

    with pytest.raises(NotFound):
        run_in_fresh_loop(unknown())


def test_queue_is_bounded_and_shutdown_fails_what_was_left(storage: Storage):
    runner = JobRunner(storage, max_queue=2)
    stopped_cleanly = threading.Event()

    def until_stopped(ctx: JobContext) -> None:
        while not ctx.should_stop():
            time.sleep(0.002)
        stopped_cleanly.set()

    running = runner.submit("train-layout", {}, until_stopped)
    while storage.get_job(running.id).status == JobStatus.QUEUED:
        time.sleep(0.002)
    waiting = [runner.submit("edit", {}, lambda ctx: None) for _ in range(2)]
    with pytest.raises(QueueFull):
        runner.submit("edit", {}, lambda ctx: None)

    runner.shutdown(timeout_s=TIMEOUT_S)
    assert stopped_cleanly.is_set() and not runner._worker.is_alive()
    for job_id in [running.id] + [job.id for job in waiting]:
        record = storage.get_job(job_id)
        assert record.status == JobStatus.FAILED and record.error == SHUTDOWN_REASON
    with pytest.raises(RunnerStopped):
        runner.submit("edit", {}, lambda ctx: None)


def test_device_lock_is_exposed_for_the_engine(runner: JobRunner):
    assert runner.device_lock.acquire(blocking=False)
    runner.device_lock.release()


def test_killed_server_leaves_data_intact_and_a_new_training_succeeds(tmp_path: Path):
    data_dir = tmp_path / "data"
    script = textwrap.dedent(
        f"""
        import time
        import numpy as np
        from pathlib import Path
        from ffedit.service.jobs import JobRunner
        from ffedit.service.storage import Storage
        storage = Storage(Path({str(data_dir)!r}))
        storage.add_face(np.arange(6), {{"seed": 6}})
        def train(ctx):
            ctx.report(1, 100, {{"ce": 0.9}})
            print("training", flush=True)
            time.sleep(60)
        JobRunner(storage, progress_interval_s=0.0).submit("train-layout", {{}}, train)
        time.sleep(60)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(BACKEND_DIR)}
    server = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout.readline().strip() == "training"
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(TIMEOUT_S)

    with Storage(data_dir) as storage:
        [killed] = storage.list_jobs()
        assert killed.status == JobStatus.RUNNING
        assert storage.mark_interrupted_jobs() == [killed.id]
        killed = storage.get_job(killed.id)
        assert killed.status == JobStatus.FAILED and killed.error == INTERRUPTED_REASON
        assert killed.progress["losses"] == {"ce": 0.9}
        [face] = storage.list_faces()
        assert storage.load_face_ws(face.id).tolist() == [0, 1, 2, 3, 4, 5]

        runner = JobRunner(storage)
        try:
            again = runner.submit("train-layout", {}, lambda ctx: {"ok": True})
            assert wait_until_finished(storage, again.id).status == JobStatus.SUCCEEDED
        finally:
            runner.shutdown(timeout_s=TIMEOUT_S)
