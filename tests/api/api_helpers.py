"""Helpers of the API tests (found through pytest's pythonpath)."""

from __future__ import annotations

import time

TERMINAL = ("succeeded", "failed", "cancelled")


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
