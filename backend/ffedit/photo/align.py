"""The aligned crop: the photo square a `PoseFit` names, resampled to the generator's size.

The square (centre, side, roll) maps crop coordinates (u, v) ∈ [0, 1]² to photo points
centre + R(roll)·(u − ½, v − ½)·side; the crop is sampled bilinearly there after the photo
has been shrunk (area average) to about twice the output's scale, so a large photo is not
aliased. Outside the photo the edge pixels repeat (a face near the border still crops).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ffedit.photo.pose import PoseFit


def aligned_crop(photo: torch.Tensor, fit: PoseFit, resolution: int) -> torch.Tensor:
    """(3, resolution, resolution) crop of photo (3, H, W) (any value range) at `fit`."""
    _, height, width = photo.shape
    shrink = max(1.0, fit.side / (2 * resolution))
    image = photo[None].float()
    if shrink > 1:
        size = (max(1, round(height / shrink)), max(1, round(width / shrink)))
        image = F.interpolate(image, size=size, mode="area")
    scale_y, scale_x = image.shape[2] / height, image.shape[3] / width
    steps = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution - 0.5
    v, u = torch.meshgrid(steps, steps, indexing="ij")
    cos, sin = math.cos(fit.roll), math.sin(fit.roll)
    x = fit.centre[0] + (cos * u - sin * v) * fit.side
    y = fit.centre[1] + (sin * u + cos * v) * fit.side
    grid = torch.stack(
        [x * scale_x / image.shape[3] * 2 - 1, y * scale_y / image.shape[2] * 2 - 1], -1
    )
    return F.grid_sample(
        image, grid[None], mode="bilinear", padding_mode="border", align_corners=False
    )[0]
