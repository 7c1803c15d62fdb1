"""Helpers of the API tests (found through pytest's pythonpath)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from ffedit.bench.api import LOOPBACK, free_loopback_port

TERMINAL = ("succeeded", "failed", "cancelled")


def bearer(settings) -> dict[str, str]:
    """The header that logs a request in to an app of `settings` (its access token)."""
    return {"Authorization": f"Bearer {settings.token.get_secret_value()}"}


def wait_for_job(client, job_id: str, timeout_s: float = 30) -> dict:
    """Poll `GET /jobs/{job_id}` until the job ends; its record (AssertionError after
    `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in TERMINAL:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


@contextmanager
def served_in_thread(app) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port in a thread; yields its base URL."""
    port = free_loopback_port()
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
