"""Geometry-adapter checkpoints, FFaceNeRF adapter import, and annotated sample folders.

Our adapter checkpoint is a manifest folder (`ffedit.io.manifest`) holding
  weights.safetensors  the adapter's state_dict (FFaceNeRF's names: 0.weight … 2.bias);
  adapter.json         "kind": "geometry-adapter", format version and the architecture
                       (variant, plane channels, geometry outputs, classes, hidden width);
  layout.json          the layout the adapter predicts (`layout_to_json`);
  training.json        the `AdapterTrainingConfig` it was trained with and its metrics
                       (null for imported adapters).
FFaceNeRF's `ckpt_*.pth` adapters are read through `ffedit.io.eg3d.read_ffacenerf_adapter`
and loaded as they are into a `GeometryAdapter` sized for the generator.

Where a layout's masks come from is decided here once, for the CLI and the service:
`layout_adapter_folder` is the adapter shipped with a model (`<model>/adapters/<layout>/`),
and `seg_head_folder` says whether an adapter folder or the generator's own logits (its
base layout, `base15`) segment a layout.

`read_layout_samples` reads the annotated views of a dataset folder written by
`ffedit synthface export` (docs/synthface.md): latent, camera and mask of every face and
view that has a mask for the layout.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch

from ffedit.adapter import AdapterTrainingConfig, GeometryAdapter
from ffedit.config import GeneratorConfig
from ffedit.io.eg3d import read_ffacenerf_adapter
from ffedit.io.errors import ArchitectureMismatch, CheckpointError
from ffedit.io.manifest import (
    FORMAT_VERSION,
    json_bytes,
    parse_json,
    read_manifest_folder,
    write_manifest_folder,
)
from ffedit.io.tensors import cpu_copies
from ffedit.layouts import (
    BASE_LAYOUT,
    BUILTIN_LAYOUTS,
    InvalidLayout,
    Layout,
    UnknownLayout,
    labels_from_png,
    layout_from_json,
    layout_to_json,
)

WEIGHTS_FILE = "weights.safetensors"
ADAPTER_FILE = "adapter.json"
LAYOUT_FILE = "layout.json"
TRAINING_FILE = "training.json"
ADAPTER_KIND = "geometry-adapter"
DATASET_MANIFEST = "manifest.json"
DATASET_FORMAT = "ffedit-synthface-dataset"
ADAPTERS_FOLDER = "adapters"
"""The adapters shipped with a model folder: `<model>/adapters/<layout name>/`."""


class NoSegHead(LookupError):
    """A layout has no adapter folder and is not the generator's own base layout."""


def layout_adapter_folder(model: str | os.PathLike, layout_name: str) -> Path:
    """`<model>/adapters/<layout_name>`: where a model keeps the adapter of a layout."""
    return Path(model) / ADAPTERS_FOLDER / layout_name


def seg_head_folder(
    folder: Path | None, layout_name: str, num_classes: int | None, config: GeneratorConfig
) -> Path | None:
    """Where the segmentation head of a layout comes from: `folder` when it exists (an
    adapter checkpoint), None when the generator's own logits are the layout's masks (the
    base layout with the generator's class count); `NoSegHead` otherwise."""
    if folder is not None and folder.exists():
        return folder
    if layout_name == BASE_LAYOUT and config.seg_classes == num_classes:
        return None
    raise NoSegHead(f"layout {layout_name!r} has no adapter at {folder}")


@dataclass(frozen=True)
class SavedAdapter:
    """An adapter checkpoint as loaded."""

    adapter: GeometryAdapter
    """The adapter (eval mode, gradients off)."""
    layout: Layout
    """The layout its outputs are the classes of."""
    training: AdapterTrainingConfig | None
    """How it was trained (None for an imported adapter)."""
    metrics: dict[str, Any]
    """What training measured (losses, time, training-set mIoU…); empty if none."""


def save_adapter(
    folder: str | os.PathLike,
    adapter: GeometryAdapter,
    layout: Layout,
    training: AdapterTrainingConfig | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write an adapter checkpoint folder atomically; returns it."""
    if adapter.num_classes != layout.num_classes:
        raise ValueError(
            f"the adapter predicts {adapter.num_classes} classes, layout {layout.name!r} "
            f"has {layout.num_classes}"
        )
    tensors = cpu_copies(adapter.state_dict())
    architecture = {
        "kind": ADAPTER_KIND,
        "format_version": FORMAT_VERSION,
        "variant": adapter.variant,
        "plane_channels": adapter.plane_channels,
        "geo_outputs": adapter.geo_outputs,
        "num_classes": adapter.num_classes,
        "hidden": adapter.hidden,
    }
    record = {
        "config": None if training is None else training.to_dict(),
        "metrics": metrics or {},
    }
    files = {
        WEIGHTS_FILE: safetensors.torch.save(tensors, metadata={"format": "pt"}),
        ADAPTER_FILE: json_bytes(architecture),
        LAYOUT_FILE: json_bytes(layout_to_json(layout)),
        TRAINING_FILE: json_bytes(record),
    }
    return write_manifest_folder(folder, files)


def load_adapter(
    folder: str | os.PathLike,
    device: str | torch.device = "cpu",
    generator_config: GeneratorConfig | None = None,
) -> SavedAdapter:
    """Load an adapter checkpoint folder, every file verified against its manifest; with a
    `generator_config`, also check that the adapter fits that generator."""
    folder = Path(folder)
    required = (WEIGHTS_FILE, ADAPTER_FILE, LAYOUT_FILE, TRAINING_FILE)
    contents = read_manifest_folder(folder, required)
    architecture = parse_json(contents[ADAPTER_FILE], folder / ADAPTER_FILE)
    if architecture.get("kind") != ADAPTER_KIND:
        raise CheckpointError(
            f"{folder} holds a {architecture.get('kind')!r} checkpoint, not a geometry adapter"
        )
    try:
        layout = layout_from_json(parse_json(contents[LAYOUT_FILE], folder / LAYOUT_FILE))
        adapter = GeometryAdapter(
            int(architecture["plane_channels"]),
            int(architecture["geo_outputs"]),
            int(architecture["num_classes"]),
            variant=architecture["variant"],
            hidden=int(architecture["hidden"]),
        )
        record = parse_json(contents[TRAINING_FILE], folder / TRAINING_FILE)
        config = record.get("config")
        training = None if config is None else AdapterTrainingConfig.from_dict(config)
    except (KeyError, TypeError, ValueError, InvalidLayout) as error:
        raise CheckpointError(f"{folder} has an invalid adapter description: {error}") from error
    if layout.num_classes != adapter.num_classes:
        raise CheckpointError(
            f"{folder}: the adapter predicts {adapter.num_classes} classes but its layout "
            f"{layout.name!r} has {layout.num_classes}"
        )
    try:
        state_dict = safetensors.torch.load(contents[WEIGHTS_FILE])
    except (safetensors.SafetensorError, ValueError) as error:
        raise CheckpointError(
            f"{folder}/{WEIGHTS_FILE} is truncated or not a safetensors file: {error}"
        ) from error
    _load_state(adapter, state_dict, folder)
    if generator_config is not None:
        check_adapter_fits(adapter, generator_config, folder)
    return SavedAdapter(
        adapter.to(device).eval().requires_grad_(False),
        layout,
        training,
        dict(record.get("metrics") or {}),
    )


def load_ffacenerf_adapter(
    path: str | os.PathLike, generator_config: GeneratorConfig
) -> GeometryAdapter:
    """FFaceNeRF's adapter (`decoder.geo_net_appdx`) of a `ckpt_*.pth` as a `GeometryAdapter`
    for the generator of `generator_config` (its weights loaded as they are)."""
    checkpoint = read_ffacenerf_adapter(path)
    adapter = GeometryAdapter.for_generator(
        generator_config,
        checkpoint.num_classes,
        variant=checkpoint.variant,
        hidden=int(checkpoint.state_dict["0.weight"].shape[0]),
    )
    _load_state(adapter, checkpoint.state_dict, path)
    return adapter.eval().requires_grad_(False)


def check_adapter_fits(
    adapter: GeometryAdapter, config: GeneratorConfig, source: str | os.PathLike
) -> None:
    """Raise `ArchitectureMismatch` unless the adapter reads this generator's features."""
    expected = (config.plane_channels, 1 + config.seg_classes)
    found = (adapter.plane_channels, adapter.geo_outputs)
    if found != expected:
        raise ArchitectureMismatch(
            f"{source}: the adapter reads {found[0]} plane channels and {found[1]} geometry "
            f"outputs, the generator has {expected[0]} and {expected[1]}"
        )


def _load_state(
    adapter: GeometryAdapter, state_dict: dict[str, torch.Tensor], source: str | os.PathLike
) -> None:
    expected = {name: tuple(t.shape) for name, t in adapter.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in state_dict.items()}
    if expected != found:
        raise ArchitectureMismatch(
            f"{source}: adapter tensors {found} do not match the architecture {expected}"
        )
    adapter.load_state_dict({name: t.to(torch.float32) for name, t in state_dict.items()})


class SampleFolderError(ValueError):
    """A folder of annotated samples that cannot be read (missing, damaged, wrong format)."""


@dataclass(frozen=True)
class AnnotatedView:
    """One face at one view with its mask, as read from a dataset folder."""

    seed: int
    """The face's seed (its folder name)."""
    view: str
    """The view's name."""
    latent: torch.Tensor
    """(z_dim,) float32 latent z."""
    camera: torch.Tensor
    """(25,) float32 camera vector."""
    labels: torch.Tensor
    """(H, W) int64 class ids."""


def read_layout_samples(
    folder: str | os.PathLike, layout_name: str, views: list[str] | None = None
) -> tuple[Layout, list[AnnotatedView]]:
    """The layout named `layout_name` (a built-in, or one the dataset defines) and every face
    and view of the dataset folder with a mask for it, in manifest order (views filtered to
    `views` if given)."""
    folder = Path(folder)
    manifest = _dataset_manifest(folder)
    layouts = manifest.get("layouts") or {}
    if layout_name in layouts:
        layout = layout_from_json(layouts[layout_name])
    elif layout_name in BUILTIN_LAYOUTS:
        layout = BUILTIN_LAYOUTS[layout_name]
    else:
        known = ", ".join(sorted(set(BUILTIN_LAYOUTS) | set(layouts)))
        raise UnknownLayout(f"unknown layout {layout_name!r}; known here: {known}")
    cameras = {name: entry["camera"] for name, entry in manifest["views"].items()}
    samples = []
    for face in manifest["faces"]:
        latent = None
        for view, entry in face["views"].items():
            mask_path = entry.get("masks", {}).get(layout_name)
            if mask_path is None or (views is not None and view not in views):
                continue
            if latent is None:
                latent = _read_latent(folder / face["latent"])
            labels = labels_from_png(_read_bytes(folder / mask_path), layout)
            samples.append(
                AnnotatedView(
                    seed=int(face["seed"]),
                    view=view,
                    latent=latent,
                    camera=torch.tensor(cameras[view], dtype=torch.float32),
                    labels=torch.from_numpy(labels),
                )
            )
    return layout, samples


def one_view_per_face(views: list[AnnotatedView]) -> list[AnnotatedView]:
    """The i-th face's (i-th distinct seed's) views cycled: its view number i mod its view
    count (front, left, right, front… for an export at those views), one sample per face."""
    faces: dict[int, list[AnnotatedView]] = {}
    for view in views:
        faces.setdefault(view.seed, []).append(view)
    return [own[index % len(own)] for index, own in enumerate(faces.values())]


def _dataset_manifest(folder: Path) -> dict:
    path = folder / DATASET_MANIFEST
    if not path.is_file():
        raise SampleFolderError(
            f"{folder} is not a sample folder: {DATASET_MANIFEST} is missing "
            "(write one with `ffedit synthface export`)"
        )
    try:
        manifest = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SampleFolderError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != DATASET_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise SampleFolderError(f"{path} is a {found!r} manifest, not {DATASET_FORMAT!r}")
    missing = [key for key in ("views", "faces") if key not in manifest]
    if missing:
        raise SampleFolderError(f"{path} lacks {' and '.join(missing)}")
    return manifest


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise SampleFolderError(f"{path} is missing (listed in {DATASET_MANIFEST})")
    return path.read_bytes()


def _read_latent(path: Path) -> torch.Tensor:
    try:
        latent = np.load(io.BytesIO(_read_bytes(path)), allow_pickle=False)
    except ValueError as error:
        raise SampleFolderError(f"{path} is not a .npy array: {error}") from error
    if latent.ndim != 1 or not np.issubdtype(latent.dtype, np.floating):
        raise SampleFolderError(
            f"{path} must hold a 1-D float latent, not {latent.dtype} {latent.shape}"
        )
    return torch.from_numpy(latent.astype(np.float32))
