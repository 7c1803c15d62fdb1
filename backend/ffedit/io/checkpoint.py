"""Generator checkpoints: our own folder format, and loading any supported checkpoint.

Our format is a folder holding
  weights.safetensors  the state_dict (no pickle, no code);
  config.json          `GeneratorConfig.to_dict()` plus "kind": "generator" and "format_version";
  manifest.json        format version, creator, and sha256 + size of every other file.
It is written to a temporary sibling folder and renamed into place, and verified against the
manifest when read. `load_generator` also accepts a NeRFFaceEditing/EG3D `.pkl` or an
FFaceNeRF `.pth` (decided by content) and imports it through `ffedit.io.eg3d`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from ffedit.config import GeneratorConfig
from ffedit.generator import TriplaneGenerator
from ffedit.io.eg3d import matching_preset, read_foreign_generator
from ffedit.io.errors import ArchitectureMismatch, CheckpointError
from ffedit.io.manifest import (
    FORMAT_VERSION,
    json_bytes,
    parse_json,
    read_manifest_folder,
    write_manifest_folder,
)
from ffedit.io.manifest import MANIFEST_FILE as MANIFEST_FILE  # re-exported
from ffedit.io.restricted_pickle import is_pickle, is_zip
from ffedit.io.tensors import cpu_copies

WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.json"
GENERATOR_KIND = "generator"
_MAX_LISTED = 5


MAX_GENERATOR_VALUES = 2_000_000_000
"""Most parameter and buffer values a loaded generator may have (EG3D-512 has about 31 M)."""


def save_generator(generator: TriplaneGenerator, folder: str | os.PathLike) -> Path:
    """Write `generator` (weights + config) as a checkpoint folder, atomically; returns it."""
    tensors = cpu_copies(generator.state_dict())
    config_json = {
        **generator.config.to_dict(),
        "kind": GENERATOR_KIND,
        "format_version": FORMAT_VERSION,
    }
    files = {
        WEIGHTS_FILE: safetensors.torch.save(tensors, metadata={"format": "pt"}),
        CONFIG_FILE: json_bytes(config_json),
    }
    return write_manifest_folder(folder, files)


def load_generator(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> TriplaneGenerator:
    """Load a generator from our checkpoint folder, an EG3D/NeRFFaceEditing `.pkl` or an
    FFaceNeRF `.pth`, on `device`, in eval mode with gradients off."""
    source = Path(path)
    if source.is_dir():
        config, state_dict = read_generator_folder(source)
    elif not source.exists():
        raise CheckpointError(f"{source} does not exist")
    elif is_zip(source) or is_pickle(source):
        foreign = read_foreign_generator(source)
        config, state_dict = foreign.config, foreign.state_dict
    else:
        raise CheckpointError(
            f"{source} is neither a checkpoint folder nor an EG3D/NeRFFaceEditing pickle "
            "nor an FFaceNeRF torch.save file (it may be truncated or not a pickle)"
        )
    return generator_from_state(config, state_dict, source).to(device)


@dataclass(frozen=True)
class ImportSummary:
    """What `import_checkpoint` wrote."""

    folder: Path
    """The new checkpoint folder."""
    config: GeneratorConfig
    """The recovered generator config."""
    preset: str | None
    """Name of the `PRESETS` entry the config equals (ignoring `appearance_ws`), if any."""
    parameter_count: int
    """Trainable-parameter count of the generator (buffers excluded)."""


def import_checkpoint(source: str | os.PathLike, folder: str | os.PathLike) -> ImportSummary:
    """Convert a NeRFFaceEditing/EG3D `.pkl` or FFaceNeRF `.pth` into our checkpoint folder."""
    generator = load_generator(source)
    save_generator(generator, folder)
    return ImportSummary(
        folder=Path(folder),
        config=generator.config,
        preset=matching_preset(generator.config),
        parameter_count=sum(p.numel() for p in generator.parameters()),
    )


def generator_from_state(
    config: GeneratorConfig, state_dict: dict[str, torch.Tensor], source: str | os.PathLike
) -> TriplaneGenerator:
    """Build a generator for `config` and load `state_dict` into it exactly (eval, frozen).

    The architecture is first built on the meta device (shapes, no memory): its size is
    checked against `MAX_GENERATOR_VALUES` and the checkpoint's shapes against it before the
    real generator is allocated (a recovered config may declare anything)."""
    with torch.device("meta"):  # shapes only: nothing is allocated
        skeleton = TriplaneGenerator(config).state_dict()
    values = sum(tensor.numel() for tensor in skeleton.values())
    if values > MAX_GENERATOR_VALUES:
        raise ArchitectureMismatch(
            f"{source}: its config describes a generator of {values} values, more than the "
            f"{MAX_GENERATOR_VALUES} this loader accepts"
        )
    check_state_matches(skeleton, state_dict, source)
    generator = TriplaneGenerator(config)
    generator.load_state_dict(state_dict, strict=True)
    return generator.eval().requires_grad_(False)


def check_state_matches(
    expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor], source: str | os.PathLike
) -> None:
    """Raise `ArchitectureMismatch` listing missing/unexpected names and shape mismatches."""
    missing = [name for name in expected if name not in found]
    unexpected = [name for name in found if name not in expected]
    mismatched = [
        f"{name}: checkpoint {tuple(found[name].shape)} vs model {tuple(tensor.shape)}"
        for name, tensor in expected.items()
        if name in found and found[name].shape != tensor.shape
    ]
    problems = [
        _listing("missing", missing),
        _listing("unexpected", unexpected),
        _listing("shape mismatches", mismatched),
    ]
    problems = [problem for problem in problems if problem]
    if problems:
        raise ArchitectureMismatch(
            f"{source} does not match the generator architecture of its config: "
            + "; ".join(problems)
        )


def read_generator_folder(folder: str | os.PathLike) -> tuple[GeneratorConfig, dict]:
    """Config and state_dict of our checkpoint folder, every file checked against the manifest."""
    folder = Path(folder)
    contents = read_manifest_folder(folder, (WEIGHTS_FILE, CONFIG_FILE))
    config_json = parse_json(contents[CONFIG_FILE], folder / CONFIG_FILE)
    kind = config_json.pop("kind", None)
    config_json.pop("format_version", None)
    if kind != GENERATOR_KIND:
        raise CheckpointError(f"{folder} holds a {kind!r} checkpoint, not a generator")
    try:
        config = GeneratorConfig.from_dict(config_json)
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"{folder}/{CONFIG_FILE} is not a valid generator config: {error}"
        ) from error
    try:
        state_dict = safetensors.torch.load(contents[WEIGHTS_FILE])
    except (safetensors.SafetensorError, ValueError) as error:
        raise CheckpointError(
            f"{folder}/{WEIGHTS_FILE} is truncated or not a safetensors file: {error}"
        ) from error
    return config, state_dict


def _listing(label: str, names: list[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:_MAX_LISTED])
    more = f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else ""
    return f"{len(names)} {label} ({shown}{more})"
