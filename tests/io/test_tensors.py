"""Tensor files and training states round-trip; damaged files give clear errors."""

import pytest
import torch

from ffedit.io.errors import CheckpointError
from ffedit.io.tensors import (
    load_tensors,
    load_training_state,
    save_tensors,
    save_training_state,
)


def test_tensor_files_round_trip(tmp_path):
    tensors = {"a": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([1, 2], dtype=torch.uint8)}
    path = save_tensors(tmp_path / "shard.safetensors", tensors)
    loaded = load_tensors(path)
    assert set(loaded) == {"a", "b"}
    assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)


def test_training_state_round_trip_keeps_rng_and_numbers(tmp_path):
    state = {"step": 7, "rng": torch.Generator().manual_seed(3).get_state(), "cfg": {"lr": 0.1}}
    loaded = load_training_state(save_training_state(tmp_path / "state.pt", state))
    assert loaded["step"] == 7 and loaded["cfg"] == {"lr": 0.1}
    assert torch.equal(loaded["rng"], state["rng"])


def test_truncated_files_raise_clear_errors(tmp_path):
    path = save_tensors(tmp_path / "shard.safetensors", {"a": torch.zeros(100)})
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_tensors(path)
    state = save_training_state(tmp_path / "state.pt", {"x": torch.zeros(100)})
    state.write_bytes(state.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="not a readable training state"):
        load_training_state(state)
