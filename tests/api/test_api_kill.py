"""Killing the server (SIGKILL) during a training job: data intact, the job reads failed,
and a new training succeeds after a restart. Real `ffedit serve` processes on loopback, with
one access token fixed by FFEDIT_TOKEN (it outlives the restart)."""

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
TOKEN = "kill-test-token-0123456789"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(model, data_dir, steps: int) -> tuple[subprocess.Popen, httpx.Client]:
    port = _free_port()
    env = {
        **os.environ,
        "FFEDIT_MODEL": str(model),
        "FFEDIT_DATA_DIR": str(data_dir),
        "FFEDIT_DEVICE": "cpu",
        "FFEDIT_TORCH_THREADS": "1",
        "FFEDIT_TRAINING_STEPS": str(steps),
        "FFEDIT_TOKEN": TOKEN,
    }
    command = [sys.executable, "-m", "ffedit.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{port}/api/v1", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if api.get("/health").status_code == 200:
                return process, api
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


def _wait_status(api: httpx.Client, job: str, wanted: set[str], timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = api.get(f"/jobs/{job}").json()
        if record["status"] in wanted:
            return record
        time.sleep(0.1)
    raise AssertionError(f"job {job} never reached {wanted}")


def test_a_killed_training_fails_and_a_new_one_succeeds(tiny_model, tmp_path):
    data = tmp_path / "data"
    process, api = _serve(tiny_model, data, steps=100000)
    try:
        face = api.post("/faces", json={"seed": 2}).json()["id"]
        body = {
            "name": "spots",
            "base": "base15",
            "classes": [{"name": "spot", "color": [9, 9, 99]}],
        }
        layout = api.post("/layouts", json=body).json()["id"]
        sample = api.post(
            f"/layouts/{layout}/samples",
            data={"face_id": face, "view": "front"},
            files={"mask": ("m.png", _mask(32), "image/png")},
        ).json()["id"]
        job = api.post(f"/layouts/{layout}/train").json()["id"]
        _wait_status(api, job, {"running"})
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    process, api = _serve(tiny_model, data, steps=3)
    try:
        killed = api.get(f"/jobs/{job}").json()
        assert killed["status"] == "failed" and killed["error"] == INTERRUPTED_REASON
        assert api.get(f"/faces/{face}").status_code == 200
        samples = api.get(f"/layouts/{layout}/samples").json()
        assert [s["id"] for s in samples] == [sample]
        again = api.post(f"/layouts/{layout}/train").json()["id"]
        assert _wait_status(api, again, {"succeeded", "failed"})["status"] == "succeeded"
        assert api.get(f"/layouts/{layout}").json()["trained"]
    finally:
        process.terminate()
        process.wait(20)
