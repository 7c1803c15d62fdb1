"""Fixtures shared by the whole suite: torch on one thread in every test (the tensors are
small, and two threads on a busy 2-core machine can be many times slower than one); for the
API and browser tests a tiny model folder saved like a shipped model (generator checkpoint
plus a base17 adapter under adapters/), and the shipped default model itself."""

from __future__ import annotations

from pathlib import Path

import pytest

REPOSITORY = Path(__file__).parents[1]


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread_for_shared_fixtures():
    """Module and session fixtures are built before function fixtures run: one thread for
    them too, so a value computed there equals the same computation inside a test bitwise
    (convolutions may round differently on two threads)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    """The committed default model folder (generator and its adapters)."""
    from ffedit.config import DEFAULT_MODEL_PATH

    folder = REPOSITORY / DEFAULT_MODEL_PATH
    assert (folder / "config.json").is_file(), f"the shipped model {folder} is missing"
    return folder


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


@pytest.fixture
def redis_url(tmp_path_factory):
    """A throw-away redis-server on a free loopback port (skipped without Debian's
    redis-server: `make test` installs it when it can)."""
    from ffedit.bench.local_cluster import RedisMissing, local_redis

    try:
        with local_redis(tmp_path_factory.mktemp("redis")) as url:
            yield url
    except RedisMissing as missing:
        pytest.skip(str(missing))
