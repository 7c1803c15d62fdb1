"""The mip ray marcher: alpha compositing of per-sample values (EG3D's MipRayMarcher2).

Values, densities and depths are averaged between adjacent samples (midpoints);
σ = softplus(σ_raw + density_shift) (EG3D: shift −1); α = 1 − exp(−σΔ);
T = cumprod(1 − α + 1e-10) shifted by one; w = α·T. Composited values are Σ w·v — raw, with
no rescaling, so segmentation logits are composited as logits. Depth is Σ w·d / Σ w,
clamped to the sampled depth range (empty rays get the far end, with finite gradients).

Fast path: Σ_i w_i (v_i + v_{i+1})/2 = Σ_j u_j v_j with per-sample weights
u_j = (w_{j−1} + w_j)/2 (`sample_weights`), one batched matrix product over the samples
(`composite_samples`) instead of materialising midpoints; `composite` is its reference twin.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class Composite(NamedTuple):
    values: torch.Tensor
    """(B, R, C) composited values."""
    depth: torch.Tensor
    """(B, R, 1) expected depth."""
    weights: torch.Tensor
    """(B, R, S−1, 1) compositing weights of the S−1 midpoint intervals."""


def compositing_weights(
    densities: torch.Tensor, depths: torch.Tensor, density_shift: float = -1.0
) -> torch.Tensor:
    """Weights (B, R, S−1, 1) of the midpoint intervals of raw densities (B, R, S, 1)."""
    deltas = depths[:, :, 1:] - depths[:, :, :-1]
    densities_mid = (densities[:, :, :-1] + densities[:, :, 1:]) / 2
    sigma = F.softplus(densities_mid + density_shift)
    alpha = 1 - torch.exp(-sigma * deltas)
    alpha_shifted = torch.cat([torch.ones_like(alpha[:, :, :1]), 1 - alpha + 1e-10], -2)
    return alpha * torch.cumprod(alpha_shifted, -2)[:, :, :-1]


def midpoints(values: torch.Tensor) -> torch.Tensor:
    """(B, R, S, C) → (B, R, S−1, C): the mean of adjacent samples."""
    return (values[:, :, :-1] + values[:, :, 1:]) / 2


EMPTY_RAY_OPACITY = 1e-6
"""Rays whose total weight is at most this have no depth to average: they get the far end."""


def expected_depth(weights: torch.Tensor, depths: torch.Tensor) -> torch.Tensor:
    """(B, R, 1) weighted mean of midpoint depths, clamped to [min, max] of `depths`; empty
    rays (total weight ≤ `EMPTY_RAY_OPACITY`) get the far end. Gradients stay finite on
    every ray: dividing by a zero total would send NaN back through the whole batch even
    where the depth is not supervised."""
    total = weights.sum(2)
    occupied = total > EMPTY_RAY_OPACITY
    depth = (weights * midpoints(depths)).sum(-2) / torch.where(occupied, total, 1.0)
    depth = torch.where(occupied, depth, depths.max())
    return depth.clamp(depths.min(), depths.max())


def sample_weights(weights: torch.Tensor) -> torch.Tensor:
    """Interval weights (B, R, S−1, 1) → per-sample weights (B, R, S, 1): u_j = (w_{j−1} + w_j)/2.

    Σ_j u_j v_j equals Σ_i w_i (v_i + v_{i+1})/2, the midpoint compositing, to round-off.
    """
    return F.pad(weights, (0, 0, 1, 0)).add(F.pad(weights, (0, 0, 0, 1))).mul(0.5)


def composite_samples(sample_weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Σ_s u_s v_s: per-sample weights (B, R, S, 1) and values (B, R, S, C) → (B, R, C).

    A batched (1×S)·(S×C) matrix product: about 10× faster on CPU than (u·v).sum(−2).
    """
    return torch.matmul(sample_weights.transpose(-1, -2), values).squeeze(-2)


def composite(
    values: torch.Tensor,
    densities: torch.Tensor,
    depths: torch.Tensor,
    density_shift: float = -1.0,
) -> Composite:
    """Composite values (B, R, S, C) along rays with raw densities and depths (B, R, S, 1)."""
    weights = compositing_weights(densities, depths, density_shift)
    return Composite(
        values=(weights * midpoints(values)).sum(-2),
        depth=expected_depth(weights, depths),
        weights=weights,
    )
