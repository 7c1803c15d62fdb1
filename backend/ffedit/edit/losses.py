"""The edit's loss on the rays of one step: segmentation toward the target, preservation outside.

    total = CE + λ·overlap                          (the adapter's losses, pixel-weighted)
          + w_mse · Σ_outside w·‖rgb − rgb₀‖² / (3·H·W)
          + w_ssim · mean over windows of (1 − SSIM(rgb, rgb₀))
          + w_lpips · LPIPS((1 − M)⊙rgb, (1 − M)⊙rgb₀)   (full frame, optional)

rgb₀ is the raw RGB of the source render and M the dilated edit region. With every pixel at
weight 1 (the full frame) the MSE is FFaceNeRF's MSE((1 − M)⊙rgb₀, (1 − M)⊙rgb); on the fast
path the pixel weights make it, the cross-entropy and the overlap sums estimates of the same
whole-image quantities. The segmentation terms are `ffedit.adapter.losses` (the same Dice
as adapter training), not a second implementation.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ffedit.adapter.losses import segmentation_losses
from ffedit.edit.config import EditConfig
from ffedit.edit.regions import EditRays
from ffedit.edit.ssim import window_ssim


class EditReference(NamedTuple):
    """What a step is compared with, per pixel of the edit view (N = H·W, row-major)."""

    target: torch.Tensor
    """(N,) int64 target class ids."""
    source_rgb: torch.Tensor
    """(N, 3) raw RGB in [−1, 1] of the source render."""
    region: torch.Tensor
    """(N,) bool dilated edit region (no preservation inside)."""


class EditLosses(NamedTuple):
    cross_entropy: torch.Tensor
    overlap: torch.Tensor
    mse: torch.Tensor
    ssim: torch.Tensor
    """1 − mean window SSIM (0 when no window fits outside the region)."""
    lpips: torch.Tensor
    """0 without LPIPS."""
    total: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        return {name: float(value.detach()) for name, value in self._asdict().items()}


def edit_losses(
    rgb: torch.Tensor,
    logits: torch.Tensor,
    rays: EditRays,
    reference: EditReference,
    config: EditConfig,
    lpips: torch.Tensor | None = None,
) -> EditLosses:
    """Losses of rendered raw RGB (R, 3) and logits (R, K) at `rays.pixels`; `lpips` is the
    masked LPIPS distance (scalar) when the caller computed one."""
    pixels = rays.pixels.to(rgb.device)
    seg_positions = rays.seg_positions.to(rgb.device)
    seg_pixels = pixels[seg_positions]
    weights = rays.seg_weights.to(rgb)
    segmentation = segmentation_losses(
        logits[seg_positions][None],
        reference.target[seg_pixels][None],
        config.overlap_weight,
        weights[None],
    )
    outside = (~reference.region[seg_pixels]).to(rgb)
    squared = (rgb[seg_positions] - reference.source_rgb[seg_pixels]).square().sum(-1)
    mse = (weights * outside * squared).sum() / (3 * len(reference.target))
    patch_positions = rays.patch_positions.to(rgb.device)
    if len(patch_positions):
        windows = rgb[patch_positions]
        source = reference.source_rgb[pixels[patch_positions]]
        ssim = 1 - window_ssim(windows, source).mean()
    else:
        ssim = rgb.new_zeros(())
    lpips = rgb.new_zeros(()) if lpips is None else lpips
    total = (
        segmentation.total
        + config.mse_weight * mse
        + config.ssim_weight * ssim
        + config.lpips_weight * lpips
    )
    return EditLosses(segmentation.cross_entropy, segmentation.overlap, mse, ssim, lpips, total)
