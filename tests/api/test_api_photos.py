"""A photo upload (`POST /faces`, field `photo`): checked at once, inverted as a job that
makes a normal face (views, masks, export), cancellable; bad photos are 422 (413 over the
upload limit) and store nothing."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from api_helpers import wait_for_job
from PIL import Image

from ffedit.camera import camera_from_angles
from ffedit.config import PRESETS
from ffedit.synthface import face_from_latent, latent_from_seed, render_face

SIDE = PRESETS["tiny"].neural_rendering_resolution


def _render(seed: int, side: int) -> np.ndarray:
    camera = camera_from_angles(math.pi / 2 + 0.15, math.pi / 2)
    rgb = render_face(face_from_latent(latent_from_seed(seed)[None]), camera[None], side).rgb[0]
    return ((rgb + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()


def _encoded(pixels: np.ndarray, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def face_photo() -> bytes:
    return _encoded(_render(5, 256))


def _upload(client, data: bytes, name: str = "me.jpg"):
    return client.post("/api/v1/faces", files={"photo": (name, data)})


def test_a_photo_becomes_a_face_through_a_job(client, face_photo):
    answer = _upload(client, face_photo)
    assert answer.status_code == 202
    job = wait_for_job(client, answer.json()["id"])
    assert job["status"] == "succeeded" and job["kind"] == "invert-photo"
    result = job["result"]
    assert abs(result["landmark_fit"]["yaw"] - (math.pi / 2 + 0.15)) < 0.15
    face = client.get(f"/api/v1/faces/{result['face_id']}").json()
    assert face["origin"]["photo"] == "me.jpg" and face["origin"]["invert"] == job["id"]
    crop = client.get(f"/api/v1/jobs/{job['id']}/download")
    assert Image.open(io.BytesIO(crop.content)).size == (SIDE, SIDE)
    mask = client.get(f"/api/v1/faces/{face['id']}/render", params={"kind": "mask"})
    assert mask.status_code == 200
    export = client.post(f"/api/v1/faces/{face['id']}/exports")
    assert wait_for_job(client, export.json()["id"])["status"] == "succeeded"


def test_an_inversion_can_be_cancelled_and_makes_no_face(client, face_photo):
    engine = client.app.state.engine
    engine.device_lock.acquire()  # the job starts and waits for the device
    try:
        job = _upload(client, face_photo).json()
        assert client.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    finally:
        engine.device_lock.release()
    assert wait_for_job(client, job["id"])["status"] == "cancelled"
    assert client.get("/api/v1/faces").json() == []


def test_bad_photos_are_refused_with_what_to_do_and_store_nothing(client):
    grey = np.full((200, 300, 3), 90, np.uint8)
    pair = np.concatenate([_render(5, 192), _render(6, 192)], axis=1)
    small = np.full((300, 300, 3), 0, np.uint8)
    small[100:180, 100:180] = _render(5, 80)
    huge = Image.new("L", (7000, 6000))  # 42 megapixels, a few kB as PNG
    buffer = io.BytesIO()
    huge.save(buffer, format="PNG")
    cases = [
        (b"not a photo at all", "not a JPEG or PNG"),
        (_encoded(grey, "PNG"), "no face was found"),
        (_encoded(pair), "2 faces"),
        (_encoded(small), "pixels wide"),
        (buffer.getvalue(), "megapixels"),
    ]
    for data, reason in cases:
        answer = _upload(client, data)
        assert answer.status_code == 422, reason
        assert answer.json()["error"] == "invalid photo" and reason in answer.json()["detail"]
    too_big = _upload(client, b"\xff\xd8" + bytes(70 * 1024))  # over the 64 KiB upload limit
    assert too_big.status_code == 413
    assert client.get("/api/v1/faces").json() == []
    assert client.get("/api/v1/jobs").json() == []
