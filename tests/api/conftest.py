"""Fixtures of the API tests: a tiny model folder (with a shipped base17 adapter), settings
pointing at it and a temporary data folder, and a running app (lifespan on)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from ffedit.adapter import GeometryAdapter
from ffedit.api.app import create_app
from ffedit.api.settings import Settings
from ffedit.config import PRESETS
from ffedit.generator import TriplaneGenerator
from ffedit.io.adapters import save_adapter
from ffedit.io.checkpoint import save_generator
from ffedit.layouts import BUILTIN_LAYOUTS


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    generator = TriplaneGenerator(PRESETS["tiny"])
    folder = save_generator(generator, tmp_path_factory.mktemp("models") / "tiny")
    layout = BUILTIN_LAYOUTS["base17"]
    adapter = GeometryAdapter.for_generator(generator.config, layout.num_classes, hidden=8)
    save_adapter(folder / "adapters" / "base17", adapter, layout)
    return folder


@pytest.fixture
def settings(tiny_model: Path, tmp_path: Path) -> Settings:
    return Settings(
        model=tiny_model,
        data_dir=tmp_path / "data",
        device="cpu",
        training_steps=3,
        edit_steps=3,
        orbit_frames=2,
        max_upload_bytes=64 * 1024,
        torch_threads=1,
        frontend_dir=tmp_path / "no-frontend",
    )


@pytest.fixture
def client(settings: Settings):
    with TestClient(create_app(settings)) as running:
        yield running
