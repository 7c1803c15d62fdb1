"""SSIM (Wang et al. 2004) of small windows, for the edit's preservation loss.

Each window is a few pixels square, weighted by a normalised Gaussian (σ = 1.5); per window
and channel

    SSIM = (2·μx·μy + C1)(2·σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))

with weighted means, variances and covariance, C1 = (0.01·L)², C2 = (0.03·L)², L the value
range (2 for images in [−1, 1]); the result is averaged over channels. Working on windows
rather than whole images lets the fast edit path render only the pixels of a few windows.
"""

from __future__ import annotations

import torch

from ffedit.edit.regions import SSIM_WINDOW

GAUSSIAN_SIGMA = 1.5
VALUE_RANGE = 2.0
"""Images are in [−1, 1]."""


def gaussian_window(side: int = SSIM_WINDOW, sigma: float = GAUSSIAN_SIGMA) -> torch.Tensor:
    """(side²,) row-major weights of a side × side Gaussian window, summing to 1."""
    coords = torch.arange(side, dtype=torch.float64) - (side - 1) / 2
    profile = torch.exp(-(coords**2) / (2 * sigma**2))
    window = profile[:, None] * profile[None, :]
    return (window / window.sum()).reshape(-1).float()


def window_ssim(x: torch.Tensor, y: torch.Tensor, value_range: float = VALUE_RANGE) -> torch.Tensor:
    """(P,) SSIM of windows x, y (P, N, C): N = side² row-major pixels of C channels."""
    side = round(x.shape[1] ** 0.5)
    if x.shape != y.shape or x.ndim != 3 or side * side != x.shape[1]:
        raise ValueError(
            f"windows must be equal (P, side², C) tensors, got {tuple(x.shape)}, {tuple(y.shape)}"
        )
    weights = gaussian_window(side).to(x)[None, :, None]
    c1, c2 = (0.01 * value_range) ** 2, (0.03 * value_range) ** 2
    mean_x, mean_y = (weights * x).sum(1), (weights * y).sum(1)
    var_x = (weights * x * x).sum(1) - mean_x**2
    var_y = (weights * y * y).sum(1) - mean_y**2
    cov = (weights * x * y).sum(1) - mean_x * mean_y
    luminance = (2 * mean_x * mean_y + c1) / (mean_x**2 + mean_y**2 + c1)
    structure = (2 * cov + c2) / (var_x + var_y + c2)
    return (luminance * structure).mean(-1)
