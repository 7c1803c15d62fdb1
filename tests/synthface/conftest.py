"""synthface tests run torch on one thread: their tensors are small, and two threads on a
busy 2-core machine can be many times slower than one."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
