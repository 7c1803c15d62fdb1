"""Fixtures of the API tests: settings pointing at the shared tiny model (tests/conftest.py)
and a temporary data folder (and a random access token), and a running app (lifespan on)
whose client sends the token (`Authorization: Bearer`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import bearer
from fastapi.testclient import TestClient

from ffedit.api.app import create_app
from ffedit.api.settings import Settings


@pytest.fixture
def settings(tiny_model: Path, tmp_path: Path) -> Settings:
    return Settings(
        model=tiny_model,
        data_dir=tmp_path / "data",
        device="cpu",
        training_steps=3,
        edit_steps=3,
        invert_steps=2,
        orbit_frames=2,
        max_upload_bytes=64 * 1024,
        torch_threads=1,
        frontend_dir=tmp_path / "no-frontend",
        trusted_hosts=["localhost", "127.0.0.1", "[::1]", "testserver"],  # the TestClient's
    )


@pytest.fixture
def client(settings: Settings):
    with TestClient(create_app(settings), headers=bearer(settings)) as running:
        yield running
