"""Named tensors on disk: safetensors files (data shards) and training states (resume points).

Both are written atomically. Training states hold only tensors and plain Python values and
are read back with `torch.load(weights_only=True)`, so loading one never runs code.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save

from ffedit.io.errors import CheckpointError
from ffedit.io.files import atomic_write_bytes


def cpu_copies(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies of named tensors (what safetensors writes)."""
    return {
        name: tensor.detach().to("cpu", copy=True).contiguous() for name, tensor in tensors.items()
    }


def save_tensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor]) -> Path:
    """Write tensors (contiguous CPU copies) to a safetensors file."""
    return atomic_write_bytes(path, safetensors_save(cpu_copies(tensors)))


def load_tensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a safetensors file written by `save_tensors`."""
    try:
        return safetensors_load(Path(path).read_bytes())
    except Exception as error:  # safetensors raises its own error types
        raise CheckpointError(f"{path} is not a readable safetensors file: {error}") from error


def save_training_state(path: str | os.PathLike, state: dict) -> Path:
    """Write a training state (tensors, numbers, strings, lists, dicts) atomically."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_training_state(path: str | os.PathLike) -> dict:
    """Read a training state written by `save_training_state` (no code is executed)."""
    try:
        return torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"{path} is not a readable training state: {error}") from error
