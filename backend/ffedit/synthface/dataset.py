"""Exported synthface datasets: what each face and view contributes, and the manifest.

Folder layout (paths relative to the dataset folder; see docs/synthface.md):

    manifest.json                       format, version, views with their cameras, layouts,
                                        fine labels, and one entry per face
    faces/<seed:06d>/latent.npy         the face's latent z, float32 (512,)
    faces/<seed:06d>/<view>/rgb.png     the RGB render, uint8
    faces/<seed:06d>/<view>/fine.png    fine labels as an indexed PNG (atlas palette)
    faces/<seed:06d>/<view>/mask_<layout>.png   class ids as an indexed PNG (layout palette)

This module builds the bytes and the manifest in memory; the CLI writes them (atomically).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ffedit.camera import NAMED_VIEWS, named_camera
from ffedit.layouts import (
    FINE_LABELS,
    Layout,
    atlas_layout,
    indexed_png_from_labels,
    labels_from_fine,
    layout_to_json,
)
from ffedit.synthface.params import (
    APPEARANCE_PARAMETERS,
    LATENT_DIM,
    SHAPE_PARAMETERS,
    face_from_latent,
    latent_from_seed,
)
from ffedit.synthface.render import render_face
from ffedit.synthface.sheet import uint8_rgb

FORMAT = "ffedit-synthface-dataset"
VERSION = 1


@dataclass(frozen=True)
class ViewSample:
    view: str
    rgb: np.ndarray
    """(H, W, 3) uint8."""
    fine_png: bytes
    """Indexed PNG of the fine labels (atlas layout)."""
    mask_pngs: dict[str, bytes]
    """Indexed PNG of the class ids per layout name."""


@dataclass(frozen=True)
class FaceSample:
    seed: int
    latent: np.ndarray
    """(512,) float32."""
    views: list[ViewSample]


def face_folder(seed: int) -> str:
    return f"faces/{seed:06d}"


def npy_bytes(array: np.ndarray) -> bytes:
    """The .npy encoding of a numeric array (no pickle)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def face_samples(
    seeds: list[int], views: list[str], resolution: int, layouts: list[Layout]
) -> Iterator[FaceSample]:
    """Render each seed at each view; yield its latent, RGB and indexed-PNG masks."""
    cameras = torch.stack([named_camera(view) for view in views])
    atlas = atlas_layout()
    for seed in seeds:
        latent = latent_from_seed(seed)
        render = render_face(face_from_latent(latent), cameras, resolution)
        samples = []
        for index, view in enumerate(views):
            fine = render.fine_labels[index]
            masks = {
                layout.name: indexed_png_from_labels(labels_from_fine(fine, layout).numpy(), layout)
                for layout in layouts
            }
            fine_png = indexed_png_from_labels(fine.numpy(), atlas)
            samples.append(ViewSample(view, uint8_rgb(render.rgb[index]), fine_png, masks))
        yield FaceSample(seed, latent.numpy(), samples)


def manifest(
    seeds: list[int], views: list[str], resolution: int, layouts: list[Layout], command: str
) -> dict:
    """The JSON manifest of a dataset of these seeds, views, resolution and layouts."""
    faces = []
    for seed in seeds:
        face = face_from_latent(latent_from_seed(seed))
        folder = face_folder(seed)
        faces.append(
            {
                "seed": seed,
                "latent": f"{folder}/latent.npy",
                "shape": {
                    spec.name: round(float(value), 6)
                    for spec, value in zip(SHAPE_PARAMETERS, face.shape[0], strict=True)
                },
                "appearance": {
                    spec.name: round(float(value), 6)
                    for spec, value in zip(APPEARANCE_PARAMETERS, face.appearance[0], strict=True)
                },
                "views": {
                    view: {
                        "rgb": f"{folder}/{view}/rgb.png",
                        "fine": f"{folder}/{view}/fine.png",
                        "masks": {
                            layout.name: f"{folder}/{view}/mask_{layout.name}.png"
                            for layout in layouts
                        },
                    }
                    for view in views
                },
            }
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "command": command,
        "resolution": resolution,
        "latent_dim": LATENT_DIM,
        "views": {
            view: {
                "yaw": NAMED_VIEWS[view][0],
                "pitch": NAMED_VIEWS[view][1],
                "camera": [float(v) for v in named_camera(view)],
            }
            for view in views
        },
        "fine_labels": list(FINE_LABELS),
        "atlas": layout_to_json(atlas_layout()),
        "layouts": {layout.name: layout_to_json(layout) for layout in layouts},
        "faces": faces,
    }
