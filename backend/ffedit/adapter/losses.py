"""FFaceNeRF's training loss on composited logits: cross-entropy + λ·overlap (Dice).

Logits are (B, N, K) per pixel (N = H·W for whole images, or the sampled rays), labels
(B, N) class ids. Overlap loss, smooth s = 1, over all K classes (absent ones included):

    P = softmax_K(logits), Y = one_hot(labels)
    D[b, k] = (2·Σ_n P·Y + s) / (Σ_n P + Σ_n Y + s)
    L_ov = mean_b (1 − mean_k D[b, k])

With optional per-pixel weights (B, N), every sum over n becomes a weighted sum and the
cross-entropy a weighted mean. The fast trainer uses them so that sums over class-stratified
ray samples estimate the whole image's sums (each ray weighs the number of image pixels it
stands for); with unit weights both losses are exactly the paper's.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

OVERLAP_SMOOTH = 1.0


class SegmentationLosses(NamedTuple):
    cross_entropy: torch.Tensor
    overlap: torch.Tensor
    total: torch.Tensor
    """cross_entropy + overlap_weight·overlap."""


def _check(logits: torch.Tensor, labels: torch.Tensor) -> None:
    if logits.ndim != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(
            f"logits must be (B, N, K) and labels (B, N); got {tuple(logits.shape)} "
            f"and {tuple(labels.shape)}"
        )


def cross_entropy_loss(
    logits: torch.Tensor, labels: torch.Tensor, pixel_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean (or pixel-weighted mean) cross-entropy of logits (B, N, K) against labels (B, N)."""
    _check(logits, labels)
    per_pixel = F.cross_entropy(logits.flatten(0, 1), labels.flatten().long(), reduction="none")
    if pixel_weights is None:
        return per_pixel.mean()
    weights = pixel_weights.flatten().to(per_pixel)
    return (weights * per_pixel).sum() / weights.sum()


def overlap_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    pixel_weights: torch.Tensor | None = None,
    smooth: float = OVERLAP_SMOOTH,
) -> torch.Tensor:
    """FFaceNeRF's Dice overlap loss of logits (B, N, K) against labels (B, N) (module doc)."""
    _check(logits, labels)
    probabilities = logits.softmax(dim=-1)
    one_hot = F.one_hot(labels.long(), logits.shape[-1]).to(probabilities)
    if pixel_weights is not None:
        weights = pixel_weights.to(probabilities).unsqueeze(-1)
        probabilities_sum = (weights * probabilities).sum(1)
        intersection = (weights * probabilities * one_hot).sum(1)
        label_sum = (weights * one_hot).sum(1)
    else:
        probabilities_sum = probabilities.sum(1)
        intersection = (probabilities * one_hot).sum(1)
        label_sum = one_hot.sum(1)
    dice = (2 * intersection + smooth) / (probabilities_sum + label_sum + smooth)  # (B, K)
    return (1 - dice.mean(dim=-1)).mean()


def segmentation_losses(
    logits: torch.Tensor,
    labels: torch.Tensor,
    overlap_weight: float,
    pixel_weights: torch.Tensor | None = None,
) -> SegmentationLosses:
    """Cross-entropy, overlap and their total CE + overlap_weight·overlap (0 in stage one)."""
    cross_entropy = cross_entropy_loss(logits, labels, pixel_weights)
    overlap = overlap_loss(logits, labels, pixel_weights)
    return SegmentationLosses(cross_entropy, overlap, cross_entropy + overlap_weight * overlap)
