"""Worker mode: the app with FFEDIT_BROKER_URL holds no model; a real Redis (on a free
loopback port) and real `ffedit worker` processes on the CPU do its renders and jobs. A
render, a face from a seed, a training followed over the WebSocket, an edit and a cancel
end to end; a photo detected in the web process and inverted on a worker; then a worker
killed (SIGKILL) in the middle of a job: the job reads failed with the lost-worker reason,
nothing stored is lost, and the other worker goes on serving."""

from __future__ import annotations

import io
import math
import signal
import time
from contextlib import ExitStack, contextmanager

import numpy as np
import pytest
import redis
from api_helpers import bearer, wait_for_job
from fastapi.testclient import TestClient
from PIL import Image

from ffedit.api.app import create_app
from ffedit.bench.local_cluster import start_worker, wait_until_serving
from ffedit.camera import camera_from_angles
from ffedit.config import PRESETS
from ffedit.service.broker import WORKER_LOST_REASON, WORKER_TTL_S, job_worker_key
from ffedit.synthface import face_from_latent, latent_from_seed, render_face

pytestmark = pytest.mark.slow
SIZE = PRESETS["tiny"].neural_rendering_resolution


def _png(labels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette([0, 0, 0] * 256)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _spots() -> np.ndarray:
    labels = np.ones((SIZE, SIZE), dtype=np.uint8)
    labels[: SIZE // 4, : SIZE // 4] = 15
    return labels


@contextmanager
def _workers(tiny_model, data_dir, redis_url, log_dir, names):
    """`ffedit worker` processes (each its own name), serving once they are ready."""
    settings = {"edit_steps": "50"}
    processes = {}
    try:
        for name in names:
            log = log_dir / f"{name}.log"
            processes[name] = start_worker(tiny_model, data_dir, redis_url, name, log, settings)
        for name, process in processes.items():
            wait_until_serving(process, log_dir / f"{name}.log")
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(30)
            except Exception:
                process.kill()


def _client(settings, redis_url, **overrides):
    """The app in worker mode (the training steps are the web process's setting: a job's
    parameters)."""
    web = settings.model_copy(update={"broker_url": redis_url, "edit_steps": 50, **overrides})
    return TestClient(create_app(web), headers=bearer(settings))


def _layout_with_a_sample(client) -> tuple[str, str]:
    face = client.post("/api/v1/faces", json={"seed": 3})
    assert face.status_code == 201, face.text
    face = face.json()["id"]
    body = {"name": "spots", "base": "base15", "classes": [{"name": "spot", "color": [9, 9, 9]}]}
    layout = client.post("/api/v1/layouts", json=body).json()["id"]
    sample = client.post(
        f"/api/v1/layouts/{layout}/samples",
        data={"face_id": face, "view": "front"},
        files={"mask": ("m.png", _png(_spots()), "image/png")},
    )
    assert sample.status_code == 201, sample.text
    return face, layout


def test_renders_and_jobs_run_on_a_worker_end_to_end(tiny_model, tmp_path, settings, redis_url):
    data = settings.data_dir
    with ExitStack() as stack:
        stack.enter_context(_workers(tiny_model, data, redis_url, tmp_path, ["w1"]))
        client = stack.enter_context(_client(settings, redis_url))
        engine = client.app.state.engine
        assert not hasattr(engine, "generator")  # the web process holds no model
        model = client.get("/api/v1/model").json()
        assert model["mask_resolution"] == SIZE and model["device"] == "workers"
        face, layout = _layout_with_a_sample(client)
        render = client.get(f"/api/v1/faces/{face}/render", params={"kind": "mask"})
        assert render.status_code == 200 and render.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(render.content)).size == (SIZE, SIZE)
        view = client.get(f"/api/v1/faces/{face}/view", params={"view": "front"})
        assert view.status_code == 200, view.text
        missing = client.get("/api/v1/faces/nope/render")
        assert missing.status_code == 404 and "nope" in missing.json()["detail"]  # from a worker

        job = client.post(f"/api/v1/layouts/{layout}/train").json()
        with client.websocket_connect(f"/api/v1/jobs/{job['id']}/events") as socket:
            events = [socket.receive_json()]
            while not (events[-1]["type"] == "status" and events[-1]["status"] == "succeeded"):
                events.append(socket.receive_json())
                assert events[-1].get("status") not in ("failed", "cancelled"), events[-1]
        fitting = [e for e in events if e["type"] == "progress" and "stage" not in e]
        assert fitting and fitting[-1]["step"] == fitting[-1]["total"] == 3
        assert client.get(f"/api/v1/layouts/{layout}").json()["trained"]

        target = np.ones((SIZE, SIZE), dtype=np.uint8)
        target[: SIZE // 3] = 3
        same = client.post(
            f"/api/v1/faces/{face}/edits",
            data={"layout": "base15", "view": "front"},
            files={"mask": ("t.png", render.content, "image/png")},
        )
        assert same.status_code == 422  # the worker's check: the face's own mask is no edit
        edit = client.post(
            f"/api/v1/faces/{face}/edits",
            data={"layout": "base15", "view": "front", "steps": "2"},
            files={"mask": ("t.png", _png(target), "image/png")},
        )
        assert edit.status_code == 202, edit.text
        done = wait_for_job(client, edit.json()["id"], timeout_s=120)
        assert done["status"] == "succeeded", done["error"]
        child = client.get(f"/api/v1/faces/{done['result']['face_id']}").json()
        assert child["parent_id"] == face

        long = client.post(
            f"/api/v1/faces/{face}/edits",
            data={"layout": "base15", "view": "front", "steps": "50"},
            files={"mask": ("t.png", _png(target), "image/png")},
        ).json()
        _wait_running(client, long["id"])
        assert client.post(f"/api/v1/jobs/{long['id']}/cancel").status_code == 200
        assert wait_for_job(client, long["id"], timeout_s=60)["status"] == "cancelled"


def _face_photo() -> bytes:
    """A synthface face rendered at 256², as a JPEG."""
    camera = camera_from_angles(math.pi / 2, math.pi / 2)
    rgb = render_face(face_from_latent(latent_from_seed(5)[None]), camera[None], 256).rgb[0]
    pixels = ((rgb + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_a_photo_is_checked_in_the_web_process_and_inverted_on_a_worker(
    tiny_model, tmp_path, settings, redis_url
):
    with ExitStack() as stack:
        stack.enter_context(_workers(tiny_model, settings.data_dir, redis_url, tmp_path, ["w1"]))
        client = stack.enter_context(_client(settings, redis_url))
        grey = io.BytesIO()
        Image.new("RGB", (200, 200), (90, 90, 90)).save(grey, format="PNG")
        refused = client.post("/api/v1/faces", files={"photo": ("wall.png", grey.getvalue())})
        assert refused.status_code == 422 and "no face" in refused.json()["detail"]
        assert client.get("/api/v1/jobs").json() == []
        answer = client.post("/api/v1/faces", files={"photo": ("me.jpg", _face_photo())})
        assert answer.status_code == 202, answer.text
        job = wait_for_job(client, answer.json()["id"], timeout_s=120)
        assert job["status"] == "succeeded", job["error"]
        assert job["kind"] == "invert-photo" and job["params"]["steps"] == settings.invert_steps
        face = client.get(f"/api/v1/faces/{job['result']['face_id']}").json()
        assert face["origin"]["photo"] == "me.jpg"
        crop = client.get(f"/api/v1/jobs/{job['id']}/download")
        assert Image.open(io.BytesIO(crop.content)).size == (SIZE, SIZE)
        render = client.get(f"/api/v1/faces/{face['id']}/render", params={"kind": "mask"})
        assert render.status_code == 200


def _wait_running(client, job_id: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while client.get(f"/api/v1/jobs/{job_id}").json()["status"] != "running":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)


def test_a_worker_killed_mid_job_fails_it_and_the_other_worker_goes_on(
    tiny_model, tmp_path, settings, redis_url
):
    data = settings.data_dir
    with ExitStack() as stack:
        workers = stack.enter_context(_workers(tiny_model, data, redis_url, tmp_path, ["w1", "w2"]))
        client = stack.enter_context(_client(settings, redis_url, training_steps=100_000))
        face, layout = _layout_with_a_sample(client)
        samples_before = client.get(f"/api/v1/layouts/{layout}/samples").json()
        job = client.post(f"/api/v1/layouts/{layout}/train").json()
        _wait_running(client, job["id"])
        started = time.monotonic()
        runner = redis.Redis.from_url(redis_url).get(job_worker_key(job["id"])).decode()
        workers[runner].send_signal(signal.SIGKILL)
        workers[runner].wait(10)
        failed = wait_for_job(client, job["id"], timeout_s=60)
        assert failed["status"] == "failed" and failed["error"] == WORKER_LOST_REASON
        assert time.monotonic() - started < WORKER_TTL_S + 10  # learnt from the heartbeat
        # nothing stored is lost: the face, the layout and its sample, the job's record
        assert client.get(f"/api/v1/faces/{face}").status_code == 200
        assert client.get(f"/api/v1/layouts/{layout}/samples").json() == samples_before
        # the other worker renders and runs jobs
        render = client.get(f"/api/v1/faces/{face}/render", params={"kind": "mask"})
        assert render.status_code == 200
        target = np.ones((SIZE, SIZE), dtype=np.uint8)
        target[: SIZE // 3] = 3
        edit = client.post(
            f"/api/v1/faces/{face}/edits",
            data={"layout": "base15", "view": "front", "steps": "2"},
            files={"mask": ("t.png", _png(target), "image/png")},
        )
        assert wait_for_job(client, edit.json()["id"], timeout_s=120)["status"] == "succeeded"
