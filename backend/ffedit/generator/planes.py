"""NeRFFaceEditing's geometry/appearance split of the tri-planes (instance normalisation).

Per channel of the raw planes viewed as (B, 3·C, H, W): mean and std = √(unbiased var)
over the spatial dims. The geometry decoder reads (planes − mean)/(std + 1e-8); the
appearance decoder reads normalised·std' + mean', where (mean', std') are the planes' own
statistics unless others are imposed (appearance transfer / appearance lock).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

STD_EPS = 1e-8


class PlaneStatistics(NamedTuple):
    mean: torch.Tensor
    """(B, 3·C) per-channel spatial mean."""
    std: torch.Tensor
    """(B, 3·C) per-channel spatial std (unbiased)."""


class SplitPlanes(NamedTuple):
    """The normalised planes, and per-channel affine maps of them to both decoders' inputs:
    branch 0, geometry, is the normalised planes themselves; branch 1, appearance, is
    normalised·std' + mean'. Sampled by `ffedit.render.sample_plane_branches`, one look-up
    serves both decoders (half the work of looking up two stacked copies)."""

    normalized: torch.Tensor
    """(B, 3, C, H, W) (planes − mean)/(std + 1e-8), stored channels-last (memory order B,
    3, H, W, C) so that `grid_sample` reads each point's channels contiguously: about 3×
    faster on CPU, bit-identical results."""
    branch_scale: torch.Tensor
    """(B or 1, 3, C, 2): per-channel multipliers of the normalised planes [1, std']."""
    branch_shift: torch.Tensor
    """(B or 1, 3, C, 2): per-channel offsets [0, mean']."""
    statistics: PlaneStatistics
    """The raw planes' own statistics."""


VARIANCE_FLOOR = 1e-12


def plane_statistics(planes: torch.Tensor) -> PlaneStatistics:
    """Statistics (B, 3·C) of raw planes (B, 3, C, H, W). The variance is floored at
    `VARIANCE_FLOOR` before the square root: the same values for any real plane, but a
    constant channel no longer sends an infinite gradient (√ at 0) into training."""
    batch, num_planes, channels, height, width = planes.shape
    flat = planes.reshape(batch, num_planes * channels, height, width)
    variance = flat.var(dim=(-1, -2)).clamp_min(VARIANCE_FLOOR)
    return PlaneStatistics(flat.mean(dim=(-1, -2)), variance.sqrt())


def _per_plane(stat: torch.Tensor, planes: torch.Tensor) -> torch.Tensor:
    """(B or 1, 3·C) → (B or 1, 3, C) for planes (B, 3, C, H, W)."""
    return stat.reshape(stat.shape[0], planes.shape[1], planes.shape[2])


def _per_channel(stat: torch.Tensor, planes: torch.Tensor) -> torch.Tensor:
    """(B or 1, 3·C) → (B or 1, 3, C, 1, 1), broadcastable against planes (B, 3, C, H, W)."""
    return stat.reshape(stat.shape[0], planes.shape[1], planes.shape[2], 1, 1)


def normalize_planes(planes: torch.Tensor, statistics: PlaneStatistics) -> torch.Tensor:
    """(planes − mean)/(std + 1e-8), planes (B, 3, C, H, W)."""
    mean, std = _per_channel(statistics.mean, planes), _per_channel(statistics.std, planes)
    return (planes - mean) / (std + STD_EPS)


def split_planes(
    planes: torch.Tensor, appearance_statistics: PlaneStatistics | None = None
) -> SplitPlanes:
    """Normalised planes of raw planes (B, 3, C, H, W) and the maps to both decoders' inputs.

    `appearance_statistics` (mean, std), each (B or 1, 3·C), replaces the planes' own
    statistics in the appearance branch only.
    """
    statistics = plane_statistics(planes)
    imposed = statistics if appearance_statistics is None else appearance_statistics
    expected = planes.shape[1] * planes.shape[2]
    for name, stat in zip(("mean", "std"), imposed, strict=True):
        if stat.ndim != 2 or stat.shape[1] != expected or stat.shape[0] not in (1, len(planes)):
            raise ValueError(
                f"plane_stats {name} must be (B or 1, {expected}); got {tuple(stat.shape)}"
            )
    normalized = normalize_planes(planes, statistics)
    mean = _per_plane(imposed.mean.to(planes), planes)
    std = _per_plane(imposed.std.to(planes), planes)
    scale = torch.stack([torch.ones_like(std), std], dim=-1)
    shift = torch.stack([torch.zeros_like(mean), mean], dim=-1)
    channels_last = normalized.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
    return SplitPlanes(channels_last, scale, shift, statistics)
