"""Depth samples along rays: stratified and importance, stochastic or deterministic.

Deterministic mode is EG3D's `det=True` path: stratified depths are
linspace(ray_start, ray_end, S) with no jitter, importance samples use u = linspace(0, 1, N).
Stochastic mode jitters each stratified depth by up to one bin and draws u uniformly,
as EG3D does for training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def stratified_depths(
    batch: int,
    num_rays: int,
    ray_start: float,
    ray_end: float,
    num_samples: int,
    *,
    deterministic: bool,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Depths (B, R, S, 1) in [ray_start, ray_end (+ one bin when jittered)]."""
    depths = torch.linspace(ray_start, ray_end, num_samples, device=device, dtype=dtype)
    depths = depths.reshape(1, 1, num_samples, 1).repeat(batch, num_rays, 1, 1)
    if not deterministic:
        delta = (ray_end - ray_start) / (num_samples - 1)
        jitter = torch.rand(depths.shape, device=device, dtype=dtype, generator=generator)
        depths = depths + jitter * delta
    return depths


def smooth_weights(weights: torch.Tensor) -> torch.Tensor:
    """EG3D's weight smoothing (N, D) → (N, D): max-pool(2, 1, pad 1), avg-pool(2, 1), +0.01."""
    pooled = F.max_pool1d(weights.unsqueeze(1).float(), 2, 1, padding=1)
    return F.avg_pool1d(pooled, 2, 1).squeeze(1).to(weights.dtype) + 0.01


def sample_pdf(
    bins: torch.Tensor,
    weights: torch.Tensor,
    num_samples: int,
    *,
    deterministic: bool,
    generator: torch.Generator | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Inverse-CDF samples (N, num_samples) from a piecewise-constant pdf.

    weights (N, D) (D ≤ bins' length − 1) weight the intervals between consecutive bins
    (N, ≥D+1); as in EG3D, bins beyond D+1 are never reached.
    """
    num_rays, num_bins = weights.shape
    weights = weights + eps
    pdf = weights / weights.sum(-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), torch.cumsum(pdf, -1)], -1)  # (N, D+1)
    if deterministic:
        u = torch.linspace(0, 1, num_samples, device=bins.device, dtype=bins.dtype)
        u = u.expand(num_rays, num_samples).contiguous()
    else:
        u = torch.rand(
            num_rays, num_samples, device=bins.device, dtype=bins.dtype, generator=generator
        )
    indices = torch.searchsorted(cdf, u, right=True)
    below = (indices - 1).clamp_min(0)
    above = indices.clamp_max(num_bins)
    pairs = torch.stack([below, above], -1).view(num_rays, 2 * num_samples)
    cdf_pairs = torch.gather(cdf, 1, pairs).view(num_rays, num_samples, 2)
    bin_pairs = torch.gather(bins, 1, pairs).view(num_rays, num_samples, 2)
    denom = cdf_pairs[..., 1] - cdf_pairs[..., 0]
    denom = torch.where(denom < eps, torch.ones_like(denom), denom)
    t = (u - cdf_pairs[..., 0]) / denom
    return bin_pairs[..., 0] + t * (bin_pairs[..., 1] - bin_pairs[..., 0])


def importance_depths(
    depths: torch.Tensor,
    weights: torch.Tensor,
    num_samples: int,
    *,
    deterministic: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fine depths (B, R, N, 1) from coarse depths (B, R, S, 1) and marcher weights (B, R, S−1, 1).

    EG3D: bins are the coarse midpoints, the pdf the smoothed weights without their ends.
    """
    batch, num_rays, num_coarse, _ = depths.shape
    flat_depths = depths.reshape(batch * num_rays, num_coarse)
    smoothed = smooth_weights(weights.reshape(batch * num_rays, -1))
    mids = 0.5 * (flat_depths[:, :-1] + flat_depths[:, 1:])
    fine = sample_pdf(
        mids, smoothed[:, 1:-1], num_samples, deterministic=deterministic, generator=generator
    )
    return fine.detach().reshape(batch, num_rays, num_samples, 1)


def merge_samples(
    depths_a: torch.Tensor,
    values_a: torch.Tensor,
    depths_b: torch.Tensor,
    values_b: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate two sample sets (B, R, S·, 1) / (B, R, S·, C) and sort them by depth."""
    depths = torch.cat([depths_a, depths_b], dim=-2)
    values = torch.cat([values_a, values_b], dim=-2)
    order = torch.argsort(depths, dim=-2)
    depths = torch.gather(depths, -2, order)
    values = torch.gather(values, -2, order.expand(-1, -1, -1, values.shape[-1]))
    return depths, values
