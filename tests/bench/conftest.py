"""Fixtures of the benchmark tests."""

import pytest
from adapter_helpers import opaque_tiny_generator

from ffedit.generator import TriplaneGenerator


@pytest.fixture(scope="session")
def generator() -> TriplaneGenerator:
    return opaque_tiny_generator()
