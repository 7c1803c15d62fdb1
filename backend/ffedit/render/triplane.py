"""Tri-plane projection and feature sampling, reproducing EG3D's plane axes exactly.

EG3D's `generate_planes` + `project_onto_planes` sample plane 0 at (x, y), plane 1 at
(x, z) and plane 2 at (z, x) — not (y, z). Checkpoints are trained with this quirk, so it
is kept. The first coordinate indexes plane width (grid_sample's x), the second its height.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PLANE_AXES = torch.tensor(
    [
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]],
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
    ]
)
"""EG3D's three plane bases; points are projected with their inverses."""


def project_onto_planes(points: torch.Tensor) -> torch.Tensor:
    """(B, N, 3) points → (B, P=3, N, 2) plane coordinates: (x,y), (x,z), (z,x)."""
    inverse = torch.linalg.inv(PLANE_AXES).to(points.device, points.dtype)
    return torch.einsum("bnk,pkj->bpnj", points, inverse)[..., :2]


def _grid_sample_planes(
    planes: torch.Tensor, points: torch.Tensor, box_warp: float
) -> torch.Tensor:
    """Bilinear features (B, P, C, N) of planes (B, P, C, H, W) at points (B, N, 3)."""
    batch, num_planes, channels, height, width = planes.shape
    coords = project_onto_planes((2.0 / box_warp) * points)  # (B, P, N, 2)
    grid = coords.reshape(batch * num_planes, 1, -1, 2).to(planes.dtype)
    sampled = F.grid_sample(
        planes.reshape(batch * num_planes, channels, height, width),
        grid,
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )  # (B·P, C, 1, N)
    return sampled.reshape(batch, num_planes, channels, -1)


def sample_from_planes(planes: torch.Tensor, points: torch.Tensor, box_warp: float) -> torch.Tensor:
    """Bilinear features (B, P, N, C) of planes (B, P, C, H, W) at points (B, N, 3).

    Points are scaled by 2/box_warp into grid_sample's [-1, 1] (align_corners=False);
    outside the box the features are zero.
    """
    return _grid_sample_planes(planes, points, box_warp).transpose(2, 3)


def sample_triplane_features(
    planes: torch.Tensor, points: torch.Tensor, box_warp: float
) -> torch.Tensor:
    """Features (B, N, C) of points (B, N, 3): the mean over the three planes.

    The mean is taken in grid_sample's (B, P, C, N) memory order, before the transpose:
    the same sums, several times faster on CPU than reducing the strided (B, P, N, C) view.
    """
    return _grid_sample_planes(planes, points, box_warp).mean(dim=1).transpose(1, 2)
