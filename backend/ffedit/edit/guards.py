"""Guard views: what other cameras see of the face must not change where nothing was painted.

The painted pixels are rays of the edit view; the face may change around their surface
points (the source's expected depth, swept `SWEEP_NEAR` in front of it and `SWEEP_FAR`
behind). A guard view is the edit camera turned by one of `EditConfig.guard_yaws`; the
projections of those points into it, dilated, are its free region: every other pixel of the
guard view keeps the source's class distribution and colour, and the free region's pixels
keep their classes at the weight of unpainted pixels near the painted ones (`edit.losses`),
so the change there is the least the edit view asks for. Without
guards a latent edit is free to move anything the edit view does not see (the side of the
nose, an ear, the hair behind), and most of what changed at unseen views was collateral.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ffedit.adapter.rays import stratified_rays
from ffedit.camera import unpack_cameras
from ffedit.edit.regions import dilate
from ffedit.render import project_points

SWEEP_NEAR = 0.1
"""World units in front of a painted pixel's surface the change may reach (a chin grown
forward, an opened mouth)."""
SWEEP_FAR = 0.05
"""World units behind it."""
SWEEP_SAMPLES = 16
"""Points per painted ray along the sweep."""
GUARD_MARGIN = 2
"""Pixels the free region grows by beyond the edit's own dilation (a swept surface's
projection is approximate)."""
OPAQUE = 0.5
"""Opacity above which a pixel's expected depth is a surface."""


class GuardView(NamedTuple):
    """One guard camera with what the source renders there (N = H·W rays, row-major)."""

    origins: torch.Tensor
    """(1, N, 3) ray origins."""
    directions: torch.Tensor
    """(1, N, 3) unit ray directions."""
    source_rgb: torch.Tensor
    """(N, 3) raw RGB of the source."""
    source_log_probs: torch.Tensor
    """(N, K) log-softmax of the source's segmentation logits."""
    strata: torch.Tensor
    """(N,) int64 what the drawn rays are stratified by: the source's predicted classes,
    their label edges apart (`ffedit.edit.regions.edge_strata`)."""
    free: torch.Tensor
    """(N,) bool pixels of the free region (where the painted change may show)."""


def painted_points(
    origins: torch.Tensor,
    directions: torch.Tensor,
    depth: torch.Tensor,
    opacity: torch.Tensor,
) -> torch.Tensor:
    """(P·SWEEP_SAMPLES, 3) points swept along painted rays (origins, directions (P, 3)) around
    their surface: the ray's expected depth (P,) where its opacity (P,) is above `OPAQUE`,
    else the median depth of the opaque painted rays (a pixel painted over background takes
    its neighbours' surface); empty for no rays."""
    if len(depth) == 0:
        return origins.new_zeros(0, 3)
    opaque = opacity > OPAQUE
    fallback = depth[opaque].median() if opaque.any() else depth.median()
    surface = torch.where(opaque, depth, fallback)
    offsets = torch.linspace(-SWEEP_NEAR, SWEEP_FAR, SWEEP_SAMPLES, device=depth.device)
    distances = surface[:, None] + offsets[None, :]
    return (origins[:, None] + distances[..., None] * directions[:, None]).reshape(-1, 3)


def free_region(
    points: torch.Tensor, camera: torch.Tensor, resolution: int, radius: int
) -> torch.Tensor:
    """(H, W) bool: pixels of `camera` (25,) within `radius` of a projected point (P, 3)."""
    cam2world, intrinsics = unpack_cameras(camera.reshape(1, 25).to(points))
    pixels, in_front = project_points(points, cam2world[0], intrinsics[0], resolution)
    cells = pixels[in_front].round().long()
    inside = ((cells >= 0) & (cells < resolution)).all(-1)
    region = torch.zeros(resolution, resolution, dtype=torch.bool)
    rows, columns = cells[inside].cpu().unbind(-1)
    region[rows, columns] = True
    return dilate(region, radius)


class GuardRays(NamedTuple):
    """The rays a step draws from one guard view."""

    pixels: torch.Tensor
    """(R,) int64 pixel indices."""
    weights: torch.Tensor
    """(R,) float32 pixels each stands for."""


def draw_guard_rays(view: GuardView, count: int, generator: torch.Generator) -> GuardRays:
    """`count` pixels of a guard view, stratified by `GuardView.strata`."""
    drawn = stratified_rays(view.strata.cpu(), count, generator)
    return GuardRays(drawn.indices, drawn.pixel_weights)


def all_guard_rays(view: GuardView) -> GuardRays:
    """Every pixel of a guard view, weight 1 (the full-frame twin)."""
    return GuardRays(torch.arange(len(view.strata)), torch.ones(len(view.strata)))
