"""Contact sheets: a grid of faces (rows) at several views, RGB tiles then mask tiles.

Returns a uint8 image array; writing it is the caller's job (`ffedit.io.images.save_png`).
"""

from __future__ import annotations

import numpy as np
import torch

from ffedit.layouts import Layout, colors_from_labels, labels_from_fine
from ffedit.synthface.params import Face
from ffedit.synthface.render import render_face

GAP = 2
"""Pixels between tiles."""
GAP_COLOR = (40, 40, 40)


def uint8_rgb(rgb: torch.Tensor) -> np.ndarray:
    """(3, H, W) colour in [-1, 1] → (H, W, 3) uint8 (x + 1)·127.5, rounded and clipped."""
    return ((rgb.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()


def tile_grid(rows: list[list[np.ndarray]]) -> np.ndarray:
    """Square uint8 tiles (rows of equal length) laid out with `GAP` pixels between them."""
    tile = rows[0][0].shape[0]
    height = len(rows) * (tile + GAP) - GAP
    width = len(rows[0]) * (tile + GAP) - GAP
    sheet = np.empty((height, width, 3), dtype=np.uint8)
    sheet[:] = GAP_COLOR
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            top, left = r * (tile + GAP), c * (tile + GAP)
            sheet[top : top + tile, left : left + tile] = image
    return sheet


def contact_sheet(
    faces: Face, cameras: torch.Tensor, resolution: int, layout: Layout
) -> np.ndarray:
    """(H, W, 3) uint8: one row per face; its RGB at each camera (V, 25), then its masks."""
    rows = []
    for index in range(len(faces)):
        render = render_face(faces[index], cameras, resolution)
        labels = labels_from_fine(render.fine_labels, layout).cpu().numpy()
        rgb_tiles = [uint8_rgb(image) for image in render.rgb]
        mask_tiles = [colors_from_labels(view, layout) for view in labels]
        rows.append(rgb_tiles + mask_tiles)
    return tile_grid(rows)
