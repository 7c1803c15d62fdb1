"""Fixtures of the edit tests: a tiny generator whose rays are mostly opaque."""

import pytest
import torch

from ffedit.generator import PRESETS, TriplaneGenerator


@pytest.fixture(scope="session")
def generator() -> TriplaneGenerator:
    """The tiny preset with random weights and a density bias (random tiny weights alone give
    ~15 % opacity; trained models are opaque)."""
    torch.manual_seed(0)
    generator = TriplaneGenerator(PRESETS["tiny"]).eval()
    with torch.no_grad():
        generator.decoder.geo_net[2].bias[0] += 3.0
    return generator
