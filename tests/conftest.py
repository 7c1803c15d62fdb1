"""Fixtures shared by the API and browser tests: a tiny model folder saved like a shipped
model (generator checkpoint plus a base17 adapter under adapters/)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    import torch

    from ffedit.adapter import GeometryAdapter
    from ffedit.config import PRESETS
    from ffedit.generator import TriplaneGenerator
    from ffedit.io.adapters import save_adapter
    from ffedit.io.checkpoint import save_generator
    from ffedit.layouts import BUILTIN_LAYOUTS

    torch.manual_seed(0)
    generator = TriplaneGenerator(PRESETS["tiny"])
    folder = save_generator(generator, tmp_path_factory.mktemp("models") / "tiny")
    layout = BUILTIN_LAYOUTS["base17"]
    adapter = GeometryAdapter.for_generator(generator.config, layout.num_classes, hidden=8)
    save_adapter(folder / "adapters" / "base17", adapter, layout)
    return folder
