"""Volume rendering of a radiance field: coarse pass, importance pass, compositing, chunking.

A field is any callable `field(points (B, N, 3), directions (B, N, 3)) -> (raw σ (B, N, 1),
values (B, N, C))`: the generator's decoders, a geometry adapter, or synthface's exact
fields. Rays are processed in chunks so memory stays bounded at any resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from ffedit.render.compositing import (
    composite,
    composite_samples,
    compositing_weights,
    expected_depth,
    sample_weights,
)
from ffedit.render.sampling import importance_depths, merge_samples, stratified_depths

CPU_RAYS_PER_PASS = 1024
"""Rays (over the whole batch) per rendering pass on CPU: passes of ~1k rays keep the
per-sample tensors in cache and are 2–3× faster than one pass over a 128² image."""

DENSE_APPEARANCE_FRACTION = 0.5
"""A `DeferredField` decodes appearance at all samples of a pass when more than this share
of them pass its threshold (packing would cost more than it saves)."""

Field = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class RaySamplingSettings(NamedTuple):
    """Where and how densely rays are sampled."""

    ray_start: float
    ray_end: float
    num_coarse: int
    num_importance: int
    density_shift: float = -1.0


class RenderedRays(NamedTuple):
    values: torch.Tensor
    """(B, R, C) composited values."""
    depth: torch.Tensor
    """(B, R, 1) expected depth."""
    opacity: torch.Tensor
    """(B, R, 1) total compositing weight (1 − transmittance)."""


def _sample_points(depths, origins, directions) -> tuple[torch.Tensor, torch.Tensor]:
    """Points and directions (B, R·S, 3) of the samples at depths (B, R, S, 1)."""
    batch, _, num_samples, _ = depths.shape
    points = (origins.unsqueeze(-2) + depths * directions.unsqueeze(-2)).reshape(batch, -1, 3)
    dirs = directions.unsqueeze(-2).expand(-1, -1, num_samples, -1).reshape(batch, -1, 3)
    return points, dirs


def _evaluate(field: Field, depths, origins, directions):
    batch, num_rays, num_samples, _ = depths.shape
    sigma, values = field(*_sample_points(depths, origins, directions))
    return (
        sigma.reshape(batch, num_rays, num_samples, 1),
        values.reshape(batch, num_rays, num_samples, values.shape[-1]),
    )


class RaySamples(NamedTuple):
    """A field evaluated along rays: the merged coarse and importance samples, sorted by depth."""

    depths: torch.Tensor
    """(B, R, S, 1) sample depths."""
    sigma: torch.Tensor
    """(B, R, S, 1) raw densities."""
    values: torch.Tensor
    """(B, R, S, C) field values."""


def _stratified_depths(
    origins: torch.Tensor, settings: RaySamplingSettings, deterministic, generator
):
    batch, num_rays, _ = origins.shape
    return stratified_depths(
        batch,
        num_rays,
        settings.ray_start,
        settings.ray_end,
        settings.num_coarse,
        deterministic=deterministic,
        device=origins.device,
        dtype=origins.dtype,
        generator=generator,
    )


def _fine_depths(depths, sigma, settings: RaySamplingSettings, deterministic, generator):
    """Importance depths (B, R, N, 1) from the coarse pass (only its weights are needed)."""
    weights = compositing_weights(sigma, depths, settings.density_shift)
    return importance_depths(
        depths, weights, settings.num_importance, deterministic=deterministic, generator=generator
    )


def sample_rays(
    field: Field,
    origins: torch.Tensor,
    directions: torch.Tensor,
    settings: RaySamplingSettings,
    *,
    deterministic: bool,
    generator: torch.Generator | None = None,
) -> RaySamples:
    """Evaluate `field` along rays (B, R, 3): stratified pass, then importance samples drawn
    from the coarse compositing weights, merged and sorted (what `render_rays` composites)."""
    depths = _stratified_depths(origins, settings, deterministic, generator)
    sigma, values = _evaluate(field, depths, origins, directions)
    if settings.num_importance > 0:
        fine_depths = _fine_depths(depths, sigma, settings, deterministic, generator)
        fine_sigma, fine_values = _evaluate(field, fine_depths, origins, directions)
        channels = values.shape[-1]
        depths, merged = merge_samples(
            depths,
            torch.cat([values, sigma], -1),
            fine_depths,
            torch.cat([fine_values, fine_sigma], -1),
        )
        values, sigma = merged[..., :channels], merged[..., channels:]
    return RaySamples(depths, sigma, values)


def render_rays_reference(
    field: Field,
    origins: torch.Tensor,
    directions: torch.Tensor,
    settings: RaySamplingSettings,
    *,
    deterministic: bool,
    generator: torch.Generator | None = None,
) -> RenderedRays:
    """The plain twin of `render_rays`: merge and sort all values, composite midpoints."""
    samples = sample_rays(
        field, origins, directions, settings, deterministic=deterministic, generator=generator
    )
    result = composite(samples.values, samples.sigma, samples.depths, settings.density_shift)
    return RenderedRays(result.values, result.depth, result.weights.sum(-2))


class DeferredField(NamedTuple):
    """A field whose appearance is decoded only at samples that can matter (a fast path).

    `geometry(points, dirs)` → (raw σ (B, N, 1), geometry values (B, N, Cg)) runs at every
    sample; `appearance(points, dirs)` → (B, N, Ca) runs only at samples whose per-sample
    compositing weight u exceeds `weight_threshold` (packed per batch element, padded).
    Rendered values are [appearance, geometry] (Ca + Cg channels). A skipped sample
    contributes nothing, so each composited appearance value differs from decoding
    everywhere by at most S·threshold·max|appearance| (S samples per ray). Called as a
    plain `Field` it decodes everything: `render_rays(field.decode_all, …)` is its
    reference twin.
    """

    geometry: Field
    appearance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    weight_threshold: float

    def decode_all(
        self, points: torch.Tensor, directions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The plain `Field`: σ and [appearance, geometry] values at every point."""
        sigma, geometry_values = self.geometry(points, directions)
        return sigma, torch.cat([self.appearance(points, directions), geometry_values], -1)


def _composite_significant_appearance(
    field: DeferredField,
    depths: torch.Tensor,
    per_sample: torch.Tensor,
    origins: torch.Tensor,
    directions: torch.Tensor,
) -> torch.Tensor:
    """Σ_s u_s a_s over samples (B, R, S, ·) with u_s > threshold → (B, R, Ca).

    The selected samples of each batch element are packed into (B, M, ·), M the largest
    count; the padding repeats a selected sample (or sample 0) with weight 0.
    """
    batch, num_rays, num_samples, _ = depths.shape
    flat_weights = per_sample.reshape(batch, num_rays * num_samples)
    selected = flat_weights > field.weight_threshold
    count = max(int(selected.sum(-1).max()), 1)
    if count > DENSE_APPEARANCE_FRACTION * num_rays * num_samples:
        # Most samples matter (diffuse weights): decoding all is cheaper than packing them.
        values = field.appearance(*_sample_points(depths, origins, directions))
        values = values.reshape(batch, num_rays, num_samples, values.shape[-1])
        return composite_samples(per_sample * selected.reshape_as(per_sample), values)
    picks = torch.argsort(selected.to(torch.uint8), dim=-1, descending=True, stable=True)
    picks = picks[:, :count]  # (B, M) selected samples first
    weights = flat_weights.gather(1, picks) * selected.gather(1, picks)
    rays = (picks // num_samples).unsqueeze(-1).expand(-1, -1, 3)
    ray_dirs = directions.gather(1, rays)
    sample_depths = depths.reshape(batch, -1, 1).gather(1, picks.unsqueeze(-1))
    points = origins.gather(1, rays) + sample_depths * ray_dirs
    values = field.appearance(points, ray_dirs) * weights.unsqueeze(-1)  # (B, M, Ca)
    composited = values.new_zeros(batch, num_rays, values.shape[-1])
    return composited.scatter_add(1, rays[..., :1].expand_as(values), values)


def render_rays(
    field: Field | DeferredField,
    origins: torch.Tensor,
    directions: torch.Tensor,
    settings: RaySamplingSettings,
    *,
    deterministic: bool,
    generator: torch.Generator | None = None,
) -> RenderedRays:
    """Render rays (B, R, 3): stratified pass, importance pass, merged compositing.

    Only depths and σ are sorted: the compositing weights of the merged samples are
    scattered back to per-sample weights of the unsorted coarse and fine samples and
    contracted with their values (`composite_samples`), so the C value channels are never
    concatenated, gathered or averaged into midpoints. Equals `render_rays_reference` to
    float round-off. A `DeferredField` decodes its appearance only where it matters.
    """
    deferred = isinstance(field, DeferredField)
    geometry = field.geometry if deferred else field
    depths = _stratified_depths(origins, settings, deterministic, generator)
    sigma, values = _evaluate(geometry, depths, origins, directions)
    sample_values = [values]
    if settings.num_importance > 0:
        fine_depths = _fine_depths(depths, sigma, settings, deterministic, generator)
        fine_sigma, fine_values = _evaluate(geometry, fine_depths, origins, directions)
        sample_values.append(fine_values)
        depths = torch.cat([depths, fine_depths], dim=-2)
        order = torch.argsort(depths, dim=-2)
        sorted_depths = torch.gather(depths, -2, order)
        sorted_sigma = torch.gather(torch.cat([sigma, fine_sigma], dim=-2), -2, order)
        weights = compositing_weights(sorted_sigma, sorted_depths, settings.density_shift)
        per_sample = torch.zeros_like(sorted_sigma).scatter(-2, order, sample_weights(weights))
    else:
        sorted_depths = depths
        weights = compositing_weights(sigma, depths, settings.density_shift)
        per_sample = sample_weights(weights)
    sizes = [part.shape[-2] for part in sample_values]
    composited = sum(
        composite_samples(part_weights, part_values)
        for part_weights, part_values in zip(
            per_sample.split(sizes, dim=-2), sample_values, strict=True
        )
    )
    if deferred:
        appearance = _composite_significant_appearance(
            field, depths, per_sample, origins, directions
        )
        composited = torch.cat([appearance, composited], dim=-1)
    return RenderedRays(composited, expected_depth(weights, sorted_depths), weights.sum(-2))


def default_chunk_rays(batch: int, device: torch.device) -> int | None:
    """Rays per batch element and pass: `CPU_RAYS_PER_PASS` shared by the batch on CPU,
    all at once elsewhere (None)."""
    if device.type != "cpu":
        return None
    return max(1, CPU_RAYS_PER_PASS // batch)


def render_rays_chunked(
    field: Field | DeferredField,
    origins: torch.Tensor,
    directions: torch.Tensor,
    settings: RaySamplingSettings,
    *,
    deterministic: bool,
    chunk_rays: int | None = None,
    generator: torch.Generator | None = None,
) -> RenderedRays:
    """`render_rays` over chunks of at most `chunk_rays` rays (None: all at once)."""
    num_rays = origins.shape[1]
    if chunk_rays is None or chunk_rays >= num_rays:
        return render_rays(
            field, origins, directions, settings, deterministic=deterministic, generator=generator
        )
    parts = [
        render_rays(
            field,
            origins[:, start : start + chunk_rays],
            directions[:, start : start + chunk_rays],
            settings,
            deterministic=deterministic,
            generator=generator,
        )
        for start in range(0, num_rays, chunk_rays)
    ]
    return RenderedRays(*(torch.cat(tensors, dim=1) for tensors in zip(*parts, strict=True)))
