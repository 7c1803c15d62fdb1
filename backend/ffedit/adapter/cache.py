"""The fast trainer's cache: what the adapter sees along each ray, computed once.

The generator is frozen, so for fixed planes and deterministic ray samples everything but
the adapter is a constant: the merged samples, their densities and compositing weights, and
the adapter's inputs at each sample (normalised tri-plane features, geometry-decoder output,
ray direction, the sample's point). Compositing is linear in the per-sample logits: with
interval weights w_i (over the S − 1 midpoint intervals) the composited logits are

    Σ_i w_i·(v_i + v_{i+1})/2 = Σ_j u_j·v_j,  u_j = (w_{j−1} + w_j)/2  (w_{−1} = w_{S−1} = 0),

so a ray is stored as its samples' inputs and point weights u_j. Only the `points_per_ray`
samples with the largest u_j are kept (the rest carry almost no weight on a crisp surface);
`total_weight` records Σ_j u_j over all samples, to measure the share kept. With every
sample kept, `cached_logits` equals the generator's own composited `seg_head` logits on the
same rays (the reference twin, tested). The adapter's first-layer inputs at the kept samples
do not depend on its weights either, so the trainer computes them once (`cached_inputs`).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ffedit.adapter.geometry import GeometrySampler, geometry_sampler
from ffedit.adapter.network import GeometryAdapter
from ffedit.generator import TriplaneGenerator
from ffedit.render import RaySamplingSettings, compositing_weights, sample_rays

CACHE_CHUNK_RAYS = 4096
"""Rays evaluated per pass while filling the cache: bounds memory, same result."""


class RayCache(NamedTuple):
    """Adapter inputs along R rays, M kept samples each."""

    normalized_features: torch.Tensor
    """(R, M, C) normalised tri-plane features of the kept samples."""
    geo_output: torch.Tensor
    """(R, M, 1 + L) geometry-decoder output (raw σ, L logits) of the kept samples."""
    point_weights: torch.Tensor
    """(R, M) compositing weight u_j of each kept sample."""
    points: torch.Tensor
    """(R, M, 3) the kept samples' points."""
    directions: torch.Tensor
    """(R, 3) unit ray directions."""
    total_weight: torch.Tensor
    """(R,) Σ u_j over all samples of the ray, kept or not (its opacity)."""


def point_weights_from_intervals(weights: torch.Tensor) -> torch.Tensor:
    """Per-sample weights (..., S) of midpoint-interval weights (..., S − 1): u_j as above."""
    zero = torch.zeros_like(weights[..., :1])
    return (torch.cat([zero, weights], -1) + torch.cat([weights, zero], -1)) / 2


def _cache_chunk(
    generator: TriplaneGenerator,
    geometry: GeometrySampler,
    origins: torch.Tensor,
    directions: torch.Tensor,
    settings: RaySamplingSettings,
    points_per_ray: int | None,
) -> RayCache:
    channels = generator.config.plane_channels

    def field(points: torch.Tensor, dirs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, geo_output = geometry(points)
        return geo_output[..., :1], torch.cat([features, geo_output], -1)

    ray_samples = sample_rays(field, origins[None], directions[None], settings, deterministic=True)
    weights = compositing_weights(ray_samples.sigma, ray_samples.depths, settings.density_shift)
    point_weights = point_weights_from_intervals(weights[0, ..., 0])  # (R, S)
    points = origins[:, None] + ray_samples.depths[0] * directions[:, None]  # (R, S, 3)
    values = torch.cat([ray_samples.values[0], points], -1)  # (R, S, C + 1 + L + 3)
    total = point_weights.sum(-1)
    if points_per_ray is not None and points_per_ray < point_weights.shape[1]:
        point_weights, kept = point_weights.topk(points_per_ray, dim=-1)
        values = values.gather(1, kept.unsqueeze(-1).expand(-1, -1, values.shape[-1]))
    return RayCache(
        normalized_features=values[..., :channels].contiguous(),
        geo_output=values[..., channels:-3].contiguous(),
        point_weights=point_weights.contiguous(),
        points=values[..., -3:].contiguous(),
        directions=directions.contiguous(),
        total_weight=total,
    )


def cache_rays(
    generator: TriplaneGenerator,
    planes: torch.Tensor,
    origins: torch.Tensor,
    directions: torch.Tensor,
    settings: RaySamplingSettings,
    points_per_ray: int | None,
) -> RayCache:
    """Adapter inputs along rays (R, 3) through raw planes (1, 3, C, H, W), deterministic
    samples with `settings`; `points_per_ray` None keeps every sample."""
    with torch.no_grad():
        geometry = geometry_sampler(generator, planes)
        parts = [
            _cache_chunk(
                generator,
                geometry,
                origins[start : start + CACHE_CHUNK_RAYS],
                directions[start : start + CACHE_CHUNK_RAYS],
                settings,
                points_per_ray,
            )
            for start in range(0, len(origins), CACHE_CHUNK_RAYS)
        ]
    return RayCache(*(torch.cat(tensors) for tensors in zip(*parts, strict=True)))


def cached_inputs(adapter: GeometryAdapter, cache: RayCache) -> torch.Tensor:
    """The adapter's first-layer inputs (R, M, in) at a cache's kept samples: constants of the
    cache (they depend on the adapter's variant, not on its weights)."""
    directions = cache.directions.unsqueeze(1).expand(-1, cache.point_weights.shape[1], -1)
    return adapter.inputs(cache.normalized_features, cache.geo_output, directions, cache.points)


def cached_logits(
    adapter: GeometryAdapter, inputs: torch.Tensor, point_weights: torch.Tensor
) -> torch.Tensor:
    """Composited adapter logits (B, R, K) from cached first-layer inputs (B, R, M, in)
    (`cached_inputs`) and point weights (B, R, M)."""
    batch, rays, points, _ = inputs.shape
    logits = adapter.logits_from_inputs(inputs.reshape(batch, rays * points, -1))
    return (point_weights.unsqueeze(-1) * logits.reshape(batch, rays, points, -1)).sum(2)
