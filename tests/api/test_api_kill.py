"""Killing the server (SIGKILL) during a training job: data intact, the job reads failed,
and a new training succeeds after a restart. Real `ffedit serve` processes on loopback."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from ffedit.service.storage import INTERRUPTED_REASON

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(model, data_dir, steps: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "FFEDIT_MODEL": str(model),
        "FFEDIT_DATA_DIR": str(data_dir),
        "FFEDIT_DEVICE": "cpu",
        "FFEDIT_TORCH_THREADS": "1",
        "FFEDIT_TRAINING_STEPS": str(steps),
    }
    command = [sys.executable, "-m", "ffedit.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not start")


def _mask(size: int) -> bytes:
    labels = np.ones((size, size), np.uint8)
    labels[:4, :4] = 15
    buffer = io.BytesIO()
    image = Image.fromarray(labels, mode="P")
    image.putpalette([0, 0, 0] * 256)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _wait_status(url: str, job: str, wanted: set[str], timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = httpx.get(f"{url}/jobs/{job}").json()
        if record["status"] in wanted:
            return record
        time.sleep(0.1)
    raise AssertionError(f"job {job} never reached {wanted}")


def test_a_killed_training_fails_and_a_new_one_succeeds(tiny_model, tmp_path):
    data = tmp_path / "data"
    process, url = _serve(tiny_model, data, steps=100000)
    try:
        face = httpx.post(f"{url}/faces", json={"seed": 2}).json()["id"]
        body = {
            "name": "spots",
            "base": "base15",
            "classes": [{"name": "spot", "color": [9, 9, 99]}],
        }
        layout = httpx.post(f"{url}/layouts", json=body).json()["id"]
        sample = httpx.post(
            f"{url}/layouts/{layout}/samples",
            data={"face_id": face, "view": "front"},
            files={"mask": ("m.png", _mask(32), "image/png")},
        ).json()["id"]
        job = httpx.post(f"{url}/layouts/{layout}/train").json()["id"]
        _wait_status(url, job, {"running"})
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    process, url = _serve(tiny_model, data, steps=3)
    try:
        killed = httpx.get(f"{url}/jobs/{job}").json()
        assert killed["status"] == "failed" and killed["error"] == INTERRUPTED_REASON
        assert httpx.get(f"{url}/faces/{face}").status_code == 200
        samples = httpx.get(f"{url}/layouts/{layout}/samples").json()
        assert [s["id"] for s in samples] == [sample]
        again = httpx.post(f"{url}/layouts/{layout}/train").json()["id"]
        assert _wait_status(url, again, {"succeeded", "failed"})["status"] == "succeeded"
        assert httpx.get(f"{url}/layouts/{layout}").json()["trained"]
    finally:
        process.terminate()
        process.wait(20)
