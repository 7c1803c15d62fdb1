"""Fixtures of the edit tests: a tiny generator whose rays are mostly opaque, one torch thread
(the tensors are small, and two threads on a busy 2-core machine can be many times slower)."""

import pytest
import torch

from ffedit.generator import PRESETS, TriplaneGenerator


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def generator() -> TriplaneGenerator:
    """The tiny preset with random weights and a density bias (random tiny weights alone give
    ~15 % opacity; trained models are opaque)."""
    torch.manual_seed(0)
    generator = TriplaneGenerator(PRESETS["tiny"]).eval()
    with torch.no_grad():
        generator.decoder.geo_net[2].bias[0] += 3.0
    return generator
