"""Health, model info, the OpenAPI snapshot, the root page and the lifespan's startup work.

The OpenAPI snapshot is tests/golden/openapi.json. After an intended API change, regenerate
it with `FFEDIT_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/api/test_api_system.py` and review
the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from api_helpers import bearer
from fastapi.testclient import TestClient

from ffedit.api.app import create_app
from ffedit.service.storage import INTERRUPTED_REASON, JobStatus, Storage

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "openapi.json"


def test_health_answers_once_the_model_is_loaded(client, settings):
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "model": settings.model.name, "users": False}


def test_model_info_describes_the_loaded_model(client):
    info = client.get("/api/v1/model").json()
    assert info["mask_resolution"] == 32 and info["image_resolution"] == 64
    assert info["z_dim"] == 32 and info["num_ws"] == 8 and info["seg_classes"] == 15
    assert info["views"] == ["front", "left", "right"] and info["device"] == "cpu"
    assert info["view_angles"]["front"] == {"yaw": 0, "pitch": 0}
    assert info["view_angles"]["left"]["yaw"] == -info["view_angles"]["right"]["yaw"] < 0
    assert info["training_steps"] == 3 and info["max_upload_bytes"] == 64 * 1024


def test_openapi_matches_the_snapshot(client):
    spec = client.get("/openapi.json").json()
    text = json.dumps(spec, indent=2, sort_keys=True) + "\n"
    if os.environ.get("FFEDIT_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "API changed: regenerate the snapshot (module docstring)"


def test_root_redirects_to_the_docs_without_a_front_end(client):
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/docs"


def test_root_serves_the_front_end_when_it_has_an_index(settings, tmp_path):
    """The page shell and /health need no credentials (the page logs in from the shell)."""
    front = tmp_path / "front"
    front.mkdir()
    (front / "index.html").write_text("<title>ffedit</title>")
    with TestClient(create_app(settings.model_copy(update={"frontend_dir": front}))) as anonymous:
        assert "<title>ffedit</title>" in anonymous.get("/?token=anything").text
        assert anonymous.get("/api/v1/health").status_code == 200
        assert anonymous.get("/api/v1/model").status_code == 401


def test_unknown_paths_answer_json_errors(client):
    answer = client.get("/api/v1/nothing-here")
    assert answer.status_code == 404
    assert answer.json() == {"error": "not found", "detail": None}


def test_startup_fails_jobs_a_dead_server_left_running(settings):
    with Storage(settings.data_dir) as storage:
        job = storage.add_job("train-layout", {"layout_id": "x"})
        storage.update_job(job.id, status=JobStatus.RUNNING)
    with TestClient(create_app(settings), headers=bearer(settings)) as running:
        record = running.get(f"/api/v1/jobs/{job.id}").json()
    assert record["status"] == "failed" and record["error"] == INTERRUPTED_REASON
