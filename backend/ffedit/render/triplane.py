"""Tri-plane projection and feature sampling, reproducing EG3D's plane axes exactly.

EG3D's `generate_planes` + `project_onto_planes` sample plane 0 at (x, y), plane 1 at
(x, z) and plane 2 at (z, x) — not (y, z). Checkpoints are trained with this quirk, so it
is kept. The first coordinate indexes plane width (grid_sample's x), the second its height.

`sample_plane_branches` reads several per-channel affine maps of the same planes from one
bilinear look-up: a look-up is linear in the plane, so look-up(scale·plane + shift) =
scale·look-up(plane) + shift·coverage, where coverage is the bilinear weight that falls
inside the plane (grid_sample's zero padding drops the rest).
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


def _plane_coords(points: torch.Tensor, box_warp: float) -> torch.Tensor:
    """(B, N, 3) points → (B, P, N, 2) grid_sample coordinates in [-1, 1] inside the box."""
    return project_onto_planes((2.0 / box_warp) * points)


def _grid_sample_planes(
    planes: torch.Tensor, points: torch.Tensor, box_warp: float
) -> torch.Tensor:
    """Bilinear features (B, P, C, N) of planes (B, P, C, H, W) at points (B, N, 3)."""
    batch, num_planes, channels, height, width = planes.shape
    coords = _plane_coords(points, box_warp)  # (B, P, N, 2)
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


def _axis_coverage(coords: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear weight of the two texels around grid coordinates (align_corners=False) that
    lie inside [0, size)."""
    position = ((coords + 1) * size - 1) / 2
    left = position.floor()
    fraction = position - left
    inside_left = (left >= 0) & (left <= size - 1)
    inside_right = (left + 1 >= 0) & (left + 1 <= size - 1)
    return (1 - fraction) * inside_left + fraction * inside_right


def plane_coverage(points: torch.Tensor, box_warp: float, height: int, width: int) -> torch.Tensor:
    """(B, P, N): the share of each point's bilinear look-up that lands inside each H×W plane
    (1 inside the box, falling to 0 within half a texel beyond its edge): what a look-up of
    a constant plane of ones returns under zero padding."""
    coords = _plane_coords(points, box_warp)
    return _axis_coverage(coords[..., 0], width) * _axis_coverage(coords[..., 1], height)


def sample_plane_branches(
    planes: torch.Tensor,
    points: torch.Tensor,
    box_warp: float,
    scale: torch.Tensor,
    shift: torch.Tensor,
) -> torch.Tensor:
    """Features (B, N, A·C) of A per-channel affine maps of planes (B, P, C, T, T) at points
    (B, N, 3), from one look-up: branch a is the mean over the planes of the look-up in
    scale[..., a]·plane + shift[..., a]; scale and shift are (B or 1, P, C, A).

    Equals `sample_triplane_features` of each transformed plane to float round-off, at the
    cost of one look-up of C channels instead of K.
    """
    batch, num_planes, _, height, width = planes.shape
    values = _grid_sample_planes(planes, points, box_warp)  # (B, P, C, N)
    coverage = plane_coverage(points, box_warp, height, width).to(values)  # (B, P, N)
    scale = scale.expand(batch, -1, -1, -1)
    shift = shift.expand(batch, -1, -1, -1)
    features = torch.einsum("bpcn,bpck->bnkc", values, scale) + torch.einsum(
        "bpn,bpck->bnkc", coverage, shift
    )
    return features.reshape(batch, points.shape[1], -1) / num_planes
