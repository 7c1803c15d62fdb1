"""Fixtures of the inversion tests: a tiny generator whose rays are mostly opaque."""

import pytest
import torch

from ffedit.generator import PRESETS, TriplaneGenerator


@pytest.fixture(scope="session")
def generator() -> TriplaneGenerator:
    torch.manual_seed(0)
    generator = TriplaneGenerator(PRESETS["tiny"]).eval()
    with torch.no_grad():
        generator.decoder.geo_net[2].bias[0] += 3.0
    return generator
