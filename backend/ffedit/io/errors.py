"""Domain errors of checkpoint reading and writing; every message names the file and the fix."""

from __future__ import annotations


class CheckpointError(Exception):
    """A checkpoint is missing, damaged, unsafe or of an architecture this project cannot load."""


class UnsafePickleError(CheckpointError):
    """A pickle refers to a global outside the allow-list (it could run code if loaded)."""


class UnsupportedCheckpoint(CheckpointError):
    """A well-formed checkpoint of a model variant this project does not implement."""


class ArchitectureMismatch(CheckpointError):
    """Checkpoint tensors do not match the generator built from its config."""
