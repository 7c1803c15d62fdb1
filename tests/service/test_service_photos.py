"""`Engine.submit_photo`: the inversion job's face and job belong to the uploader (another
owner's ids are NotFound); a refused photo stores nothing."""

from __future__ import annotations

import io
import math
import time

import pytest
import torch
from PIL import Image

from ffedit.camera import camera_from_angles
from ffedit.service.engine import Engine, EngineConfig
from ffedit.service.errors import NotFound, PhotoError
from ffedit.synthface import face_from_latent, latent_from_seed, render_face


@pytest.fixture
def engine(tiny_model, tmp_path):
    running = Engine(
        EngineConfig(model=tiny_model, data_dir=tmp_path / "data", device="cpu", invert_steps=2)
    )
    yield running
    running.close()


def _photo() -> bytes:
    camera = camera_from_angles(math.pi / 2, math.pi / 2)
    rgb = render_face(face_from_latent(latent_from_seed(7)[None]), camera[None], 256).rgb[0]
    pixels = ((rgb + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels.numpy()).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _finished(engine: Engine, owner: str, job_id: str):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = engine.get_job(owner, job_id)
        if job.status.value in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError("the inversion did not finish")


def test_the_inverted_face_and_its_job_are_the_uploaders(engine):
    job = _finished(engine, "alice", engine.submit_photo("alice", _photo(), "me.jpg").id)
    assert job.status.value == "succeeded", job.error
    face_id = job.result["face_id"]
    assert engine.get_face("alice", face_id).origin["photo"] == "me.jpg"
    with pytest.raises(NotFound):
        engine.get_face("bob", face_id)
    with pytest.raises(NotFound):
        engine.get_job("bob", job.id)
    assert engine.list_faces("bob") == []


def test_a_refused_photo_stores_nothing(engine):
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (90, 90, 90)).save(buffer, format="PNG")
    with pytest.raises(PhotoError, match="no face"):
        engine.submit_photo("alice", buffer.getvalue(), "wall.png")
    assert engine.list_faces("alice") == [] and engine.list_jobs("alice") == []
