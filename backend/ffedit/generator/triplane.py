"""`TriplaneGenerator`: EG3D's tri-plane generator with NeRFFaceEditing's decoders.

    z, c ──mapping──▶ ws ──synthesis──▶ planes (B, 3, C, T, T) ──split──▶ normalised | appearance
    camera ──rays──▶ points ──▶ geo_net(normalised) → σ, seg logits; app_net(appearance) → features
    ──composite──▶ features·2−1, seg logits (raw), depth, opacity ──super-resolution──▶ image

Submodules and state_dict names match the official `G_ema`: `backbone.synthesis`,
`backbone.mapping`, `superresolution`, `decoder`. Rendering goes through
`ffedit.render.render_rays_chunked` with a field closure over the split planes; a
`seg_head` (the few-shot geometry adapter) can replace the composited segmentation logits
without touching density, colour or the render loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from ffedit.camera import unpack_cameras
from ffedit.config import GeneratorConfig
from ffedit.generator.decoder import TriplaneDecoder
from ffedit.generator.mapping import MappingNetwork
from ffedit.generator.planes import PlaneStatistics, SplitPlanes, split_planes
from ffedit.generator.superresolution import SuperResolution
from ffedit.generator.synthesis import NoiseMode, SynthesisNetwork
from ffedit.render import (
    DeferredField,
    RaySamplingSettings,
    default_chunk_rays,
    rays_from_cameras,
    render_rays_chunked,
    sample_plane_branches,
    sample_triplane_features,
)

NUM_PLANES = 3

SERVING_APPEARANCE_THRESHOLD = 1e-5
"""Compositing weight below which serving renders skip a sample's colour features: at most
S·1e-5·2 (≤ 2e-3 for 96 samples) off in [−1, 1] features, invisible in 8-bit images."""

SegHead = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""(normalised features (B, N, C), geo_net output (B, N, 1 + L), directions (B, N, 3),
points (B, N, 3)) → logits (B, N, K), composited instead of the geometry decoder's L
logits."""


class PointSamples(NamedTuple):
    """Decoder outputs at 3D points."""

    sigma: torch.Tensor
    """(B, N, 1) raw density (the marcher activates softplus(σ − 1))."""
    features: torch.Tensor
    """(B, N, Cf) colour features sigmoid·1.002 − 0.001 (not yet ·2 − 1)."""
    seg_logits: torch.Tensor
    """(B, N, L) segmentation logits (the seg head's K when one is given)."""
    normalized_features: torch.Tensor
    """(B, N, C) normalised tri-plane features (mean over the three planes)."""


class GeneratorOutput(NamedTuple):
    """One render. Images are (B, channels, H, W) at the neural rendering resolution."""

    rgb_raw: torch.Tensor
    """(B, 3, H, W) in [−1, 1]: features[:, :3]."""
    features: torch.Tensor
    """(B, Cf, H, W) composited colour features ·2 − 1."""
    seg_logits: torch.Tensor
    """(B, L, H, W) composited raw logits (K channels with a seg head)."""
    depth: torch.Tensor
    """(B, 1, H, W) expected depth along the ray."""
    opacity: torch.Tensor
    """(B, 1, H, W) total compositing weight."""
    image: torch.Tensor | None
    """(B, 3, S, S) super-resolved RGB, or None without super-resolution."""
    plane_mean: torch.Tensor
    """(B, 3·C) per-channel mean of the raw planes."""
    plane_std: torch.Tensor
    """(B, 3·C) per-channel std of the raw planes."""


class RayOutput(NamedTuple):
    """`render_rays`: composited values per ray (B, N, ·)."""

    features: torch.Tensor
    """(B, N, Cf) colour features ·2 − 1 (the first three are raw RGB)."""
    seg_logits: torch.Tensor
    """(B, N, L) composited raw logits (K with a seg head)."""
    depth: torch.Tensor
    """(B, N, 1) expected depth."""
    opacity: torch.Tensor
    """(B, N, 1) total compositing weight."""
    plane_mean: torch.Tensor
    """(B, 3·C) per-channel mean of the raw planes."""
    plane_std: torch.Tensor
    """(B, 3·C) per-channel std of the raw planes."""


class TriplaneBackbone(nn.Module):
    """EG3D's StyleGAN2 backbone: `synthesis` renders 3·C-channel planes from ws; `mapping`."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.synthesis = SynthesisNetwork(
            config.w_dim,
            config.plane_resolution,
            NUM_PLANES * config.plane_channels,
            channel_base=config.channel_base,
            channel_max=config.channel_max,
            channel_min=config.channel_min,
            conv_clamp=config.backbone_conv_clamp,
        )
        self.mapping = MappingNetwork(
            config.z_dim,
            config.c_dim,
            config.w_dim,
            self.synthesis.num_ws,
            num_layers=config.mapping_layers,
            lr_multiplier=config.mapping_lr_multiplier,
            w_avg_beta=config.w_avg_beta,
        )


def images_from_rays(values: torch.Tensor, resolution: int) -> torch.Tensor:
    """Row-major ray values (B, R, C), R = resolution², → images (B, C, H, W)."""
    batch, _, channels = values.shape
    return values.permute(0, 2, 1).reshape(batch, channels, resolution, resolution)


class TriplaneGenerator(nn.Module):
    """The generator; built from a `GeneratorConfig` with EG3D's random initialisation."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = TriplaneBackbone(config)
        if self.backbone.synthesis.num_ws != config.num_ws:
            raise ValueError(
                f"the backbone reads {self.backbone.synthesis.num_ws} ws, config.num_ws says "
                f"{config.num_ws}"
            )
        self.superresolution = SuperResolution(
            config.superresolution, config.feature_channels, config.w_dim
        )
        self.decoder = TriplaneDecoder(
            config.plane_channels,
            config.decoder_hidden,
            config.seg_classes,
            config.feature_channels,
            lr_multiplier=config.decoder_lr_multiplier,
        )

    @property
    def device(self) -> torch.device:
        """The device of the weights (every parameter lives on one device)."""
        return next(self.parameters()).device

    @property
    def sampling_settings(self) -> RaySamplingSettings:
        render = self.config.render
        return RaySamplingSettings(
            ray_start=render.ray_start,
            ray_end=render.ray_end,
            num_coarse=render.depth_resolution,
            num_importance=render.depth_resolution_importance,
            density_shift=render.density_shift,
        )

    def mapping(
        self,
        z: torch.Tensor,
        c: torch.Tensor,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> torch.Tensor:
        """z (B, z_dim), cameras c (B or 1, 25) → ws (B, num_ws, w_dim); c is scaled by c_scale
        (or zeroed with c_gen_conditioning_zero) first."""
        c = c * self.config.c_scale
        if self.config.c_gen_conditioning_zero:
            c = torch.zeros_like(c)
        return self.backbone.mapping(z, c, truncation_psi, truncation_cutoff, update_emas)

    def synthesize_planes(self, ws: torch.Tensor, noise_mode: NoiseMode = "const") -> torch.Tensor:
        """ws (B, num_ws, w_dim) → raw tri-planes (B, 3, C, T, T)."""
        planes = self.backbone.synthesis(ws, noise_mode)
        batch, _, height, width = planes.shape
        return planes.view(batch, NUM_PLANES, self.config.plane_channels, height, width)

    def _decode_points(
        self,
        split: SplitPlanes,
        points: torch.Tensor,
        directions: torch.Tensor,
        seg_head: SegHead | None,
    ) -> PointSamples:
        normalized, appearance = self._sample_branches(split, points, (0, 1))
        geo_output = self.decoder.geometry(normalized)
        features = self.decoder.appearance(appearance)
        if seg_head is None:
            seg_logits = geo_output[..., 1:]
        else:
            seg_logits = seg_head(normalized, geo_output, directions, points)
        return PointSamples(geo_output[..., :1], features, seg_logits, normalized)

    def _sample_branches(
        self, split: SplitPlanes, points: torch.Tensor, branches: tuple[int, ...]
    ) -> tuple[torch.Tensor, ...]:
        """The decoder inputs (B, N, C) of `branches` (0 geometry, 1 appearance) at points,
        from one look-up of the normalised planes."""
        pick = list(branches)
        features = sample_plane_branches(
            split.normalized,
            points,
            self.config.render.box_warp,
            split.branch_scale[..., pick],
            split.branch_shift[..., pick],
        )
        return features.split(self.config.plane_channels, dim=-1)

    def _deferred_field(
        self,
        split: SplitPlanes,
        seg_head: SegHead | None,
        appearance_threshold: float,
        defer_segmentation: bool,
    ) -> DeferredField:
        """σ everywhere; colour features (and, if `defer_segmentation`, the segmentation
        logits) only where they can matter. Rendered values stay [features, logits]."""
        box_warp = self.config.render.box_warp

        def segmentation(normalized: torch.Tensor, points: torch.Tensor, dirs: torch.Tensor):
            geo_output = self.decoder.geometry(normalized)
            if seg_head is None:
                return geo_output[..., :1], geo_output[..., 1:]
            return geo_output[..., :1], seg_head(normalized, geo_output, dirs, points)

        def geometry(points: torch.Tensor, dirs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            normalized = sample_triplane_features(split.normalized, points, box_warp)
            if not defer_segmentation:
                return segmentation(normalized, points, dirs)
            sigma = self.decoder.geometry(normalized)[..., :1]
            return sigma, sigma.new_zeros(*sigma.shape[:-1], 0)

        def appearance(points: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
            if not defer_segmentation:
                (appearance_features,) = self._sample_branches(split, points, (1,))
                return self.decoder.appearance(appearance_features)
            normalized, appearance_features = self._sample_branches(split, points, (0, 1))
            features = self.decoder.appearance(appearance_features)
            return torch.cat([features, segmentation(normalized, points, dirs)[1]], dim=-1)

        return DeferredField(geometry, appearance, appearance_threshold)

    def split_planes(
        self,
        planes: torch.Tensor,
        plane_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> SplitPlanes:
        """Raw planes (B, 3, C, T, T) split for the decoders (`split_planes`), to pass to
        several `render_rays` / `sample_points` calls: a training step that renders rays and
        samples points of the same planes then normalises them once (~20% of the step)."""
        return split_planes(planes, _statistics(plane_stats))

    def _split(
        self,
        planes: torch.Tensor | SplitPlanes,
        plane_stats: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> SplitPlanes:
        if not isinstance(planes, SplitPlanes):
            return self.split_planes(planes, plane_stats)
        if plane_stats is not None:
            raise ValueError("plane_stats must be given to split_planes, not with split planes")
        return planes

    def sample_points(
        self,
        planes: torch.Tensor | SplitPlanes,
        points: torch.Tensor,
        directions: torch.Tensor,
        plane_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
        seg_head: SegHead | None = None,
    ) -> PointSamples:
        """Decode raw planes (B, 3, C, T, T) at points and ray directions (B, N, 3).

        plane_stats (mean, std), each (B or 1, 3·C), replaces the appearance statistics.
        planes may also be the result of `split_planes` (then without plane_stats).
        seg_head: gives the segmentation logits instead of the geometry decoder (`SegHead`).
        """
        split = self._split(planes, plane_stats)
        return self._decode_points(split, points, directions, seg_head)

    def superresolve(
        self, rgb_raw: torch.Tensor, features: torch.Tensor, ws: torch.Tensor
    ) -> torch.Tensor:
        """rgb_raw (B, 3, H, W), features (B, Cf, H, W) in [−1, 1], ws → image (B, 3, S, S)."""
        return self.superresolution(rgb_raw, features, ws)

    def camera_rays(
        self, cameras: torch.Tensor, batch: int, resolution: int, like: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Origins and directions (B, R, 3) of cameras (B or 1, 25) on `like`'s device."""
        cam2world, intrinsics = unpack_cameras(cameras.to(device=like.device, dtype=like.dtype))
        if len(cam2world) not in (1, batch):
            raise ValueError(f"got {len(cam2world)} cameras for a batch of {batch}")
        cam2world = cam2world.expand(batch, 4, 4)
        intrinsics = intrinsics.expand(batch, 3, 3)
        return rays_from_cameras(cam2world, intrinsics, resolution)

    def render(
        self,
        ws: torch.Tensor,
        cameras: torch.Tensor,
        resolution: int | None = None,
        *,
        deterministic: bool = True,
        planes: torch.Tensor | None = None,
        plane_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
        super_resolve: bool = True,
        chunk_rays: int | None = None,
        noise_mode: NoiseMode = "const",
        seg_head: SegHead | None = None,
        appearance_threshold: float = 0.0,
    ) -> GeneratorOutput:
        """Volume-render ws (B, num_ws, w_dim) from cameras (B or 1, 25).

        resolution: side of the rendered images (default: the neural rendering resolution).
        deterministic: linspace depths and inverse-CDF samples (else EG3D's random ones).
        planes: reuse raw planes (B, 3, C, T, T) instead of synthesising them from ws.
        plane_stats: (mean, std), each (B or 1, 3·C), imposed on the appearance branch.
        chunk_rays: rays per batch element and pass (None: `default_chunk_rays`, ~1k rays per
            pass on CPU, all at once elsewhere); same result to float round-off.
        noise_mode: backbone noise when synthesising planes ('const', 'random', 'none').
        seg_head: replaces the composited segmentation logits (see `SegHead`).
        appearance_threshold: > 0 decodes colour features only at samples whose compositing
            weight exceeds it (`DeferredField`; serving uses `SERVING_APPEARANCE_THRESHOLD`);
            features then differ by at most S·threshold·2 (S samples per ray). 0: exact.
        """
        resolution = resolution or self.config.neural_rendering_resolution
        if planes is None:
            planes = self.synthesize_planes(ws, noise_mode)
        origins, directions = self.camera_rays(cameras, len(planes), resolution, planes)
        rays = self.render_rays(
            planes,
            origins,
            directions,
            deterministic=deterministic,
            plane_stats=plane_stats,
            chunk_rays=chunk_rays,
            seg_head=seg_head,
            appearance_threshold=appearance_threshold,
        )
        features = images_from_rays(rays.features, resolution)
        rgb_raw = features[:, :3]
        image = self.superresolve(rgb_raw, features, ws) if super_resolve else None
        return GeneratorOutput(
            rgb_raw=rgb_raw,
            features=features,
            seg_logits=images_from_rays(rays.seg_logits, resolution),
            depth=images_from_rays(rays.depth, resolution),
            opacity=images_from_rays(rays.opacity, resolution),
            image=image,
            plane_mean=rays.plane_mean,
            plane_std=rays.plane_std,
        )

    def render_rays(
        self,
        planes: torch.Tensor | SplitPlanes,
        origins: torch.Tensor,
        directions: torch.Tensor,
        *,
        deterministic: bool = True,
        plane_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
        chunk_rays: int | None = None,
        seg_head: SegHead | None = None,
        appearance_threshold: float = 0.0,
        defer_segmentation: bool = False,
    ) -> RayOutput:
        """Volume-render raw planes (B, 3, C, T, T) along arbitrary rays (B, N, 3).

        The ray-level core of `render` (same arguments), for training on ray subsets;
        planes may also be the result of `split_planes` (then without plane_stats).
        defer_segmentation: with appearance_threshold > 0, decode the segmentation logits
        (seg_head's too) only at the samples the colour features are decoded at (edits:
        most samples of a ray are empty space and carry neither value nor gradient).
        """
        split = self._split(planes, plane_stats)

        def field(points: torch.Tensor, dirs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            samples = self._decode_points(split, points, dirs, seg_head)
            return samples.sigma, torch.cat([samples.features, samples.seg_logits], dim=-1)

        if appearance_threshold > 0:
            field = self._deferred_field(split, seg_head, appearance_threshold, defer_segmentation)
        if chunk_rays is None:
            chunk_rays = default_chunk_rays(len(origins), origins.device)
        rays = render_rays_chunked(
            field,
            origins,
            directions,
            self.sampling_settings,
            deterministic=deterministic,
            chunk_rays=chunk_rays,
        )
        channels = self.config.feature_channels
        return RayOutput(
            features=rays.values[..., :channels] * 2 - 1,
            seg_logits=rays.values[..., channels:],
            depth=rays.depth,
            opacity=rays.opacity,
            plane_mean=split.statistics.mean,
            plane_std=split.statistics.std,
        )


def _statistics(plane_stats: tuple[torch.Tensor, torch.Tensor] | None) -> PlaneStatistics | None:
    return None if plane_stats is None else PlaneStatistics(*plane_stats)
