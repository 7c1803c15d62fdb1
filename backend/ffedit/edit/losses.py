"""The edit's loss on the rays of one step: segmentation toward the target, preservation outside.

Objective "painted" (the default; what a user painting on the predicted mask asks for):

    total = CE over the painted pixels P (target ≠ the source's prediction), their mean
          + w_near · Σ KL(p₀ ‖ p) over the unpainted pixels of the dilated region M, / |P|
          + w_keep · KL(p₀ ‖ p) over the pixels outside M, pixel-weighted mean
          + preservation (below)
          + at each guard view (`ffedit.edit.guards`): w_keep · KL(p₀ ‖ p) + w_mse · MSE
            over its pixels outside the painted pixels' projection

p₀ is the source's class distribution: at the source every term but the first is at its
minimum with zero gradient, so a target equal to the prediction moves nothing, and a few
painted pixels are not outweighed by thousands of unpainted ones.

Objective "paper" (FFaceNeRF's):

    total = CE + λ·overlap over the whole target      (the adapter's losses, pixel-weighted)
          + preservation

Preservation, both objectives:

          + w_mse · Σ_outside w·‖rgb − rgb₀‖² / (3·H·W)
          + w_ssim · mean over windows of (1 − SSIM(rgb, rgb₀))
          + w_lpips · LPIPS((1 − M)⊙rgb, (1 − M)⊙rgb₀)   (full frame, optional)

rgb₀ is the raw RGB of the source render and M the dilated edit region. With every pixel at
weight 1 (the full frame) the MSE is FFaceNeRF's MSE((1 − M)⊙rgb₀, (1 − M)⊙rgb); on the fast
path the pixel weights make it, the cross-entropy and the overlap sums estimates of the same
whole-image quantities. The paper's segmentation terms are `ffedit.adapter.losses` (the same
Dice as adapter training), not a second implementation.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from ffedit.adapter.losses import segmentation_losses
from ffedit.edit.config import EditConfig
from ffedit.edit.guards import GuardRays, GuardView
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
    painted: torch.Tensor
    """(N,) bool pixels whose target differs from the source's prediction (what the user
    painted)."""
    source_log_probs: torch.Tensor
    """(N, K) log-softmax of the source's segmentation logits."""


class EditLosses(NamedTuple):
    """The terms of one step; those of the other objective are 0."""

    painted: torch.Tensor
    """"painted": mean cross-entropy over the painted pixels among the rays (0 if none)."""
    keep: torch.Tensor
    """"painted": KL(p₀ ‖ p) of the other rays: near the painted pixels (the dilated region)
    summed per pixel like the painted term × `near_keep_weight`, elsewhere a weighted mean ×
    `keep_weight`."""
    guard: torch.Tensor
    """What the guard views keep (`guard_losses`, summed over them; 0 without)."""
    cross_entropy: torch.Tensor
    """"paper": whole-image cross-entropy toward the target."""
    overlap: torch.Tensor
    """"paper": whole-image overlap (Dice) loss."""
    mse: torch.Tensor
    ssim: torch.Tensor
    """1 − mean window SSIM (0 when no window fits outside the region)."""
    lpips: torch.Tensor
    """0 without LPIPS."""
    total: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        return {name: float(value.detach()) for name, value in self._asdict().items()}


def painted_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, confidence: float
) -> torch.Tensor:
    """Mean over rays (logits (R, K), labels (R,)) of the cross-entropy above −log(confidence):
    a painted pixel whose painted class has reached that probability pulls no further, so the
    latent stops moving for it once it is there."""
    floor = -torch.log(torch.tensor(confidence)).item() if confidence < 1 else 0.0
    return (F.cross_entropy(logits, labels, reduction="none") - floor).clamp_min(0).mean()


def keep_divergence(
    logits: torch.Tensor, source_log_probs: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Pixel-weighted mean over rays of KL(p₀ ‖ softmax(logits)); logits and source
    log-probabilities (R, K), weights (R,)."""
    divergence = F.kl_div(
        logits.log_softmax(-1), source_log_probs, reduction="none", log_target=True
    ).sum(-1)
    return (weights * divergence).sum() / weights.sum()


def guard_losses(
    rgb: torch.Tensor,
    logits: torch.Tensor,
    rays: GuardRays,
    view: GuardView,
    config: EditConfig,
    painted: int,
) -> torch.Tensor:
    """What one guard view keeps (`ffedit.edit.guards`) of its drawn rays (raw RGB (R, 3),
    logits (R, K)) against its source render: outside the free region keep_weight·KL (a
    weighted mean) + mse_weight·MSE; inside it near_keep_weight·KL per pixel relative to the
    `painted` pixels' mean cross-entropy, as near them at the edit view."""
    pixels, weights = rays.pixels.to(rgb.device), rays.weights.to(rgb)
    free = view.free[pixels]
    total = rgb.new_zeros(())
    if (~free).any():
        kept = ~free
        total = total + config.keep_weight * keep_divergence(
            logits[kept], view.source_log_probs[pixels[kept]], weights[kept]
        )
        squared = (rgb[kept] - view.source_rgb[pixels[kept]]).square().sum(-1)
        total = total + config.mse_weight * (weights[kept] * squared).sum() / (3 * len(view.free))
    if free.any() and config.near_keep_weight > 0:
        divergence = keep_divergence(
            logits[free], view.source_log_probs[pixels[free]], weights[free]
        )
        total = total + config.near_keep_weight * divergence * weights[free].sum() / max(painted, 1)
    return total


def edit_losses(
    rgb: torch.Tensor,
    logits: torch.Tensor,
    rays: EditRays,
    reference: EditReference,
    config: EditConfig,
    lpips: torch.Tensor | None = None,
    guard: torch.Tensor | None = None,
) -> EditLosses:
    """Losses of rendered raw RGB (R, 3) and logits (R, K) at `rays.pixels`; `lpips` is the
    masked LPIPS distance (scalar) when the caller computed one, `guard` the sum of
    `guard_losses` over the guard views (scalar) when there are any."""
    pixels = rays.pixels.to(rgb.device)
    seg_positions = rays.seg_positions.to(rgb.device)
    seg_pixels = pixels[seg_positions]
    weights = rays.seg_weights.to(rgb)
    seg_logits, seg_target = logits[seg_positions], reference.target[seg_pixels]
    zero = rgb.new_zeros(())
    painted = keep = cross_entropy = overlap = zero
    if config.objective == "paper":
        paper = segmentation_losses(
            seg_logits[None], seg_target[None], config.overlap_weight, weights[None]
        )
        cross_entropy, overlap, labels = paper.cross_entropy, paper.overlap, paper.total
    else:
        painted_rays = reference.painted[seg_pixels]
        if painted_rays.any():
            painted = painted_cross_entropy(
                seg_logits[painted_rays], seg_target[painted_rays], config.painted_confidence
            )
        near = ~painted_rays & reference.region[seg_pixels]
        far = ~painted_rays & ~reference.region[seg_pixels]
        if near.any() and config.near_keep_weight > 0:  # at 1: as much as a painted pixel
            divergence = keep_divergence(
                seg_logits[near], reference.source_log_probs[seg_pixels[near]], weights[near]
            )
            parity = weights[near].sum() / painted_rays.sum().clamp_min(1)
            keep = config.near_keep_weight * parity * divergence
        if far.any():
            keep = keep + config.keep_weight * keep_divergence(
                seg_logits[far], reference.source_log_probs[seg_pixels[far]], weights[far]
            )
        labels = painted + keep
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
    lpips = zero if lpips is None else lpips
    guard = zero if guard is None else guard
    total = (
        labels
        + guard
        + config.mse_weight * mse
        + config.ssim_weight * ssim
        + config.lpips_weight * lpips
    )
    return EditLosses(painted, keep, guard, cross_entropy, overlap, mse, ssim, lpips, total)
