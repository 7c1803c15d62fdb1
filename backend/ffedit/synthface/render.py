"""Rendering synthface faces: RGB, fine labels and depth from any camera at any resolution.

`render_face` is the fast path. Per ray it sphere-traces the exact distance field to the
first surface, then volume-renders a narrow band of samples around it with the project's
compositing (`ffedit.render.composite`, density shift 0, raw densities from
`field.raw_density`). Rays that are not opaque after the band (half-transparent lenses,
silhouettes) are traced on to the next surface and get a second band. Empty space is black,
as with the generator's compositing: rgb = composited colour · 2 − 1.

`render_face_reference` is its plain reference twin: EG3D-style stratified + importance
sampling through `ffedit.render.render_rays_chunked`, with fine labels composited as one-hot
evidence; tests check that both agree.

Labels are crisp and consistent with the RGB: a pixel takes the fine label of the sample at
which the accumulated opacity first reaches 1/2 (background when it never does). Depth is
the composited expected depth; empty pixels get the far end of the ray range. Everything is
deterministic (no jitter): the same face and camera give identical arrays.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ffedit.camera import unpack_cameras
from ffedit.layouts import FINE_LABELS
from ffedit.render import (
    RaySamplingSettings,
    composite,
    merge_samples,
    rays_from_cameras,
    render_rays_chunked,
)
from ffedit.synthface.field import raw_density, sample_points
from ffedit.synthface.geometry import face_geometry
from ffedit.synthface.params import Face

Tensor = torch.Tensor
BAND_OFFSETS = (
    -0.004, -0.002, -0.001, -0.0005, 0.0, 0.0005, 0.001, 0.0015, 0.002, 0.0025,
    0.003, 0.004, 0.005, 0.0065, 0.008, 0.011, 0.015, 0.02,
)  # fmt: skip
"""Sample depths relative to a traced surface hit (world units): dense where the density
rises, sparser behind it."""
HIT_DISTANCE = 5e-4
"""Sphere tracing stops where the distance falls below this."""
MIN_STEP = 0.002
"""Smallest sphere-tracing step: rays grazing a surface move on instead of crawling. It may
step up to this far into a surface, which the band (starting 4 mm before the hit) covers."""
MAX_TRACE_STEPS = 48
"""Rays still marching after this many steps are treated as hits (grazing rays)."""
STEP_FACTOR = 0.9
"""Sphere-tracing steps are this fraction of the distance (the ellipsoid bound is approximate)."""
OPAQUE = 0.995
"""A ray whose band is at least this opaque gets no second band."""
BOX_HALF = 0.5
_SQRT3_HALF = math.sqrt(3) / 2


class SynthRender(NamedTuple):
    rgb: Tensor
    """(B, 3, H, W) colour in [-1, 1] (empty space −1)."""
    fine_labels: Tensor
    """(B, H, W) int64 fine label ids."""
    depth: Tensor
    """(B, 1, H, W) depth along the ray (world units)."""


def faces_and_cameras(face: Face, cameras: Tensor) -> tuple[Face, Tensor]:
    """B faces and B cameras (B, 25) of faces and cameras (B, 25) or (25,), or one face and
    several cameras (that face from each camera), as `render_face` takes them."""
    cameras = cameras.reshape(-1, 25).to(face.shape.device, torch.float32)
    if len(face) == len(cameras):
        return face, cameras
    if len(cameras) == 1:
        return face, cameras.expand(len(face), 25)
    if len(face) == 1:
        return Face(
            face.shape.expand(len(cameras), -1), face.appearance.expand(len(cameras), -1)
        ), cameras
    raise ValueError(
        f"{len(face)} faces and {len(cameras)} cameras: give one of each or equal counts"
    )


def ray_range(origins: Tensor) -> tuple[Tensor, Tensor]:
    """(B,) near and far depths: the box's bounding sphere seen from each camera."""
    distance = torch.linalg.vector_norm(origins[:, 0], dim=-1)
    return (distance - _SQRT3_HALF).clamp_min(1e-3), distance + _SQRT3_HALF


def _box_interval(origins: Tensor, directions: Tensor) -> tuple[Tensor, Tensor]:
    """(R,) entry and exit depths of rays (R, 3) through the box (entry > exit: miss)."""
    safe = torch.where(directions.abs() < 1e-9, torch.full_like(directions, 1e-9), directions)
    t0 = (-BOX_HALF - origins) / safe
    t1 = (BOX_HALF - origins) / safe
    entry = torch.minimum(t0, t1).amax(-1).clamp_min(0)
    exit_ = torch.maximum(t0, t1).amin(-1)
    return entry, exit_


def _surface_distance(face: Face, points: Tensor) -> Tensor:
    """(N,) distance to the nearest surface (opaque or lens) of one face at points (N, 3)."""
    geometry = face_geometry(face, points.unsqueeze(0), with_labels=False)
    nearest = torch.minimum(geometry.opaque.sdf, geometry.lens)
    return torch.minimum(nearest, geometry.clearance)[0]


def _trace(face: Face, origins: Tensor, directions: Tensor, start: Tensor, end: Tensor):
    """Sphere-trace rays (R, 3) of one face from `start` to `end` (R,): depth and hit mask."""
    depth = start.clone()
    hit = torch.zeros_like(start, dtype=torch.bool)
    active = torch.nonzero(start < end).squeeze(-1)
    for _ in range(MAX_TRACE_STEPS):
        if active.numel() == 0:
            break
        current = depth[active]
        points = origins[active] + current[:, None] * directions[active]
        distance = _surface_distance(face, points)
        done = distance < HIT_DISTANCE
        hit[active[done]] = True
        stepped = current + (distance * STEP_FACTOR).clamp_min(MIN_STEP)
        depth[active] = torch.where(done, current, stepped)
        active = active[~done & (stepped < end[active])]
    hit[active] = True
    return depth, hit


class _Band(NamedTuple):
    depths: Tensor  # (n, S, 1)
    raw: Tensor  # (n, S, 1)
    rgb: Tensor  # (n, S, 3)
    label: Tensor  # (n, S, 1) float (merged with the values)


def _band(face: Face, origins: Tensor, directions: Tensor, hit_depth: Tensor) -> _Band:
    offsets = torch.tensor(BAND_OFFSETS, dtype=hit_depth.dtype, device=hit_depth.device)
    depths = hit_depth[:, None] + offsets  # (n, S)
    points = origins[:, None, :] + depths[..., None] * directions[:, None, :]
    samples = sample_points(face, points.reshape(1, -1, 3))
    shape = depths.shape
    return _Band(
        depths=depths[..., None],
        raw=raw_density(samples.density).reshape(*shape, 1),
        rgb=samples.rgb.reshape(*shape, 3),
        label=samples.fine_label.reshape(*shape, 1).to(hit_depth.dtype),
    )


class _Shaded(NamedTuple):
    rgb: Tensor  # (n, 3) in [0, 1]
    label: Tensor  # (n,)
    depth: Tensor  # (n,)
    opacity: Tensor  # (n,)


def _composite_band(depths: Tensor, raw: Tensor, rgb: Tensor, label: Tensor) -> _Shaded:
    """Composite one set of samples (n, S, ·) with the project's compositing."""
    result = composite(rgb[None], raw[None], depths[None], density_shift=0.0)
    weights = result.weights[0, :, :, 0]  # (n, S − 1)
    opacity = weights.sum(-1)
    reached = weights.cumsum(-1) >= 0.5
    median = reached.float().argmax(-1)  # first interval where half the light is absorbed
    median_label = label[:, 1:, 0].gather(1, median[:, None])[:, 0].long()
    median_label = torch.where(reached[:, -1], median_label, 0)
    return _Shaded(result.values[0], median_label, result.depth[0, :, 0], opacity)


def _render_one(face: Face, origins: Tensor, directions: Tensor, far: float):
    """RGB (R, 3) in [0, 1], labels (R,), depth (R,) of rays (R, 3) of one face."""
    num_rays = origins.shape[0]
    rgb = torch.zeros(num_rays, 3, dtype=origins.dtype, device=origins.device)
    labels = torch.zeros(num_rays, dtype=torch.long, device=origins.device)
    depth = torch.full((num_rays,), far, dtype=origins.dtype, device=origins.device)
    entry, exit_ = _box_interval(origins, directions)
    first, hit = _trace(face, origins, directions, entry, exit_)
    rays = torch.nonzero(hit).squeeze(-1)
    if rays.numel() == 0:
        return rgb, labels, depth
    o, d = origins[rays], directions[rays]
    band = _band(face, o, d, first[rays])
    shaded = _composite_band(*band)
    translucent = torch.nonzero(shaded.opacity < OPAQUE).squeeze(-1)
    if translucent.numel() > 0:
        o2, d2 = o[translucent], d[translucent]
        start = first[rays][translucent] + BAND_OFFSETS[-1]
        second, hit2 = _trace(face, o2, d2, start, exit_[rays][translucent])
        again = torch.nonzero(hit2).squeeze(-1)
        if again.numel() > 0:
            index = translucent[again]
            behind = _band(face, o2[again], d2[again], second[again])
            merged_depths, merged = merge_samples(
                band.depths[index][None],
                torch.cat([band.raw[index], band.rgb[index], band.label[index]], -1)[None],
                behind.depths[None],
                torch.cat([behind.raw, behind.rgb, behind.label], -1)[None],
            )
            merged_depths, merged = merged_depths[0], merged[0]
            layered = _composite_band(
                merged_depths, merged[..., :1], merged[..., 1:4], merged[..., 4:]
            )
            shaded = _Shaded(
                *(
                    tensor.index_put((index,), new)
                    for tensor, new in zip(shaded, layered, strict=True)
                )
            )
    rgb[rays] = shaded.rgb
    labels[rays] = shaded.label
    depth[rays] = torch.where(shaded.opacity > 0, shaded.depth, far)
    return rgb, labels, depth


@torch.inference_mode()
def render_face(
    face: Face, cameras: Tensor, resolution: int, chunk_rays: int = 32768
) -> SynthRender:
    """Render faces (B) from cameras (B, 25) or (25,) at resolution², traced (fast path).

    One face with several cameras renders that face from each camera.
    """
    face, cameras = faces_and_cameras(face, cameras)
    origins, directions = rays_from_cameras(*unpack_cameras(cameras), resolution)
    _, far = ray_range(origins)
    outputs = []
    for b in range(len(face)):
        parts = [
            _render_one(
                face[b],
                origins[b, start : start + chunk_rays],
                directions[b, start : start + chunk_rays],
                float(far[b]),
            )
            for start in range(0, origins.shape[1], chunk_rays)
        ]
        outputs.append([torch.cat(tensors) for tensors in zip(*parts, strict=True)])
    rgb = torch.stack([o[0] for o in outputs]).reshape(len(face), resolution, resolution, 3)
    labels = torch.stack([o[1] for o in outputs]).reshape(len(face), resolution, resolution)
    depth = torch.stack([o[2] for o in outputs]).reshape(len(face), 1, resolution, resolution)
    return SynthRender(rgb.permute(0, 3, 1, 2) * 2 - 1, labels, depth)


def _marching_field(face: Face):
    def field(points: Tensor, directions: Tensor) -> tuple[Tensor, Tensor]:
        samples = sample_points(face, points)
        one_hot = F.one_hot(samples.fine_label, len(FINE_LABELS)).to(points.dtype)
        return raw_density(samples.density)[..., None], torch.cat([samples.rgb, one_hot], -1)

    return field


@torch.inference_mode()
def render_face_reference(
    face: Face, cameras: Tensor, resolution: int, num_coarse: int = 384, num_importance: int = 128
) -> SynthRender:
    """Reference twin of `render_face`: plain stratified + importance volume rendering.

    Labels are the argmax of composited one-hot evidence (background below 1/2 opacity).
    Slow; meant for tests at small resolutions.
    """
    face, cameras = faces_and_cameras(face, cameras)
    origins, directions = rays_from_cameras(*unpack_cameras(cameras), resolution)
    near, far = ray_range(origins)
    rgb, labels, depth = [], [], []
    for b in range(len(face)):
        settings = RaySamplingSettings(
            float(near[b]), float(far[b]), num_coarse, num_importance, 0.0
        )
        result = render_rays_chunked(
            _marching_field(face[b]),
            origins[b : b + 1],
            directions[b : b + 1],
            settings,
            deterministic=True,
            chunk_rays=2048,
        )
        values = result.values[0]
        opacity = result.opacity[0, :, 0]
        rgb.append(values[:, :3])
        labels.append(torch.where(opacity >= 0.5, values[:, 3:].argmax(-1), 0))
        depth.append(torch.where(opacity > 0, result.depth[0, :, 0], far[b]))
    shape = (len(face), resolution, resolution)
    return SynthRender(
        torch.stack(rgb).reshape(*shape, 3).permute(0, 3, 1, 2) * 2 - 1,
        torch.stack(labels).reshape(shape),
        torch.stack(depth).reshape(len(face), 1, resolution, resolution),
    )
