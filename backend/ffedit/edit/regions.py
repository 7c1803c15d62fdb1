"""Where an edit acts, and which rays each optimisation step renders.

The edit region is where the target mask differs from the current prediction (FFaceNeRF's
M); it is dilated by a few pixels, and preservation losses apply outside it. A step of the
fast path renders:

- every ray of the dilated region (weight 1), where the segmentation must change; or, with
  `region_rays`, at most that many of them, class-stratified like the context rays;
- `context_rays` rays drawn from the other pixels, stratified by target class
  (`ffedit.adapter.rays.stratified_rays`: a class of a few pixels, say a pupil that already
  matches, gives all of them), each weighing the pixels of its class it stands for, so that
  weighted sums over the drawn rays estimate sums over the whole image (the overlap loss
  and cross-entropy see the whole image's scale);
- the pixels of `ssim_patches` SSIM windows whose centres are drawn from the valid centres
  (window wholly inside the image and outside the dilated region).

`full_frame_rays` is the reference twin: every pixel with weight 1 and every valid window.
Pixels are row-major indices i·W + j, as in `ffedit.render.rays_from_cameras`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from ffedit.adapter.rays import stratified_rays

SSIM_WINDOW = 7
"""Side of an SSIM window (pixels)."""


class EditRays(NamedTuple):
    """The rays of one step and how the losses read them."""

    pixels: torch.Tensor
    """(R,) int64 distinct pixel indices to render."""
    seg_positions: torch.Tensor
    """(S,) int64 positions in `pixels` of the rays the segmentation and MSE losses use."""
    seg_weights: torch.Tensor
    """(S,) float32 pixels each of those rays stands for."""
    patch_positions: torch.Tensor
    """(P, SSIM_WINDOW²) int64 positions in `pixels` of each SSIM window, row-major."""


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """(H, W) bool mask grown by `radius` pixels (square structuring element, side 2r + 1)."""
    if radius == 0:
        return mask.clone()
    grown = F.max_pool2d(mask[None, None].float(), 2 * radius + 1, stride=1, padding=radius)
    return grown[0, 0] > 0


def edit_region(current: torch.Tensor, target: torch.Tensor, radius: int) -> torch.Tensor:
    """(H, W) bool: pixels whose current label (H, W) differs from the target's, dilated."""
    return dilate(current != target, radius)


def label_edges(labels: torch.Tensor) -> torch.Tensor:
    """(H, W) bool: pixels of a label map (H, W) with another label among their 8 neighbours
    (where a small change of the face flips labels first)."""
    padded = F.pad(labels[None, None].float(), (1, 1, 1, 1), mode="replicate")
    highest = F.max_pool2d(padded, 3, stride=1)[0, 0]
    lowest = -F.max_pool2d(-padded, 3, stride=1)[0, 0]
    return highest != lowest


def edge_strata(labels: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Stratum ids (same shape) of labels and edge flags: a class's edge pixels are a stratum
    of their own, so stratified draws give label edges their share of rays."""
    return labels.long() + (int(labels.max()) + 1) * edges.long()


def window_centres(region: torch.Tensor, window: int = SSIM_WINDOW) -> torch.Tensor:
    """(H, W) bool: pixels whose window (side `window`) lies inside the image and wholly
    outside `region` (H, W)."""
    half = window // 2
    valid = ~dilate(region, half)
    valid[:half] = False
    valid[-half:] = False
    valid[:, :half] = False
    valid[:, -half:] = False
    return valid


def window_pixels(centres: torch.Tensor, width: int, window: int = SSIM_WINDOW) -> torch.Tensor:
    """(P, window²) row-major pixel indices of the windows around centre indices (P,)."""
    half = window // 2
    offsets = torch.arange(-half, half + 1, device=centres.device)
    grid = (offsets[:, None] * width + offsets[None, :]).reshape(-1)
    return centres[:, None] + grid[None, :]


def _rays(
    seg_pixels: torch.Tensor, seg_weights: torch.Tensor, patch_pixels: torch.Tensor
) -> EditRays:
    pixels, inverse = torch.unique(
        torch.cat([seg_pixels, patch_pixels.reshape(-1)]), return_inverse=True
    )
    seg_positions = inverse[: len(seg_pixels)]
    patch_positions = inverse[len(seg_pixels) :].reshape(patch_pixels.shape)
    return EditRays(pixels, seg_positions, seg_weights, patch_positions)


def sampled_rays(
    region: torch.Tensor,
    target: torch.Tensor,
    centres: torch.Tensor,
    context_rays: int,
    patches: int,
    generator: torch.Generator,
    region_rays: int | None = None,
    strata: torch.Tensor | None = None,
) -> EditRays:
    """The fast path's rays for one step (module doc): region (H, W) bool, the dilated edit
    region; target (H, W) class ids; centres (H, W) bool, the valid SSIM window centres;
    region_rays: the most region rays drawn (None: all); strata (H, W): what the context rays
    are stratified by (`edge_strata`; default: the target's classes); every draw comes from
    `generator`."""
    width = region.shape[1]
    flat, labels = region.reshape(-1), target.reshape(-1)
    context_strata = labels if strata is None else strata.reshape(-1)
    inside = flat.nonzero().reshape(-1)
    outside = (~flat).nonzero().reshape(-1)
    inside_weights = torch.ones(len(inside))
    if region_rays is not None:
        drawn = stratified_rays(labels[inside], region_rays, generator)
        inside, inside_weights = inside[drawn.indices], drawn.pixel_weights
    context = stratified_rays(context_strata[outside], context_rays, generator)
    seg_pixels = torch.cat([inside, outside[context.indices]])
    seg_weights = torch.cat([inside_weights, context.pixel_weights])
    valid = centres.reshape(-1).nonzero().reshape(-1)
    chosen = valid[torch.randperm(len(valid), generator=generator)[:patches]]
    return _rays(seg_pixels, seg_weights, window_pixels(chosen, width))


def full_frame_rays(centres: torch.Tensor) -> EditRays:
    """Every pixel (weight 1) and every valid SSIM window of an image; centres (H, W) bool."""
    height, width = centres.shape
    pixels = torch.arange(height * width)
    valid = centres.reshape(-1).nonzero().reshape(-1)
    return EditRays(pixels, pixels, torch.ones(height * width), window_pixels(valid, width))
