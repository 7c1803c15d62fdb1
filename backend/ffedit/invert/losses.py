"""Image distances for inversion that need no downloaded weights: MSE, SSIM, Laplacian L1.

`image_ssim` averages the edit's windowed SSIM (`ffedit.edit.ssim.window_ssim`) over every
7×7 window of two images. `laplacian_l1` is the Laplacian-pyramid L1 distance of Bojanowski
et al. 2018 (levels weighted 2^(−2j)), a perceptual stand-in that compares band-pass detail
at several scales rather than single pixels; LPIPS-VGG can be used instead where the user has
its weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ffedit.edit.regions import SSIM_WINDOW
from ffedit.edit.ssim import window_ssim

PYRAMID_LEVELS = 4


def image_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B,) mean SSIM of images x, y (B, C, H, W) in [−1, 1] over all 7×7 windows."""
    batch, channels = x.shape[:2]

    def windows(image: torch.Tensor) -> torch.Tensor:
        patches = F.unfold(image, SSIM_WINDOW)  # (B, C·k², L)
        patches = patches.reshape(batch, channels, SSIM_WINDOW**2, -1)
        return patches.permute(0, 3, 2, 1).reshape(-1, SSIM_WINDOW**2, channels)

    return window_ssim(windows(x), windows(y)).reshape(batch, -1).mean(1)


def laplacian_pyramid(image: torch.Tensor, levels: int = PYRAMID_LEVELS) -> list[torch.Tensor]:
    """Band-pass levels of image (B, C, H, W), finest first, then the coarsest low-pass."""
    bands = []
    for _ in range(levels - 1):
        low = F.avg_pool2d(image, 2)
        bands.append(image - F.interpolate(low, size=image.shape[-2:], mode="bilinear"))
        image = low
    return [*bands, image]


def laplacian_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B,) Σ_j 2^(−2j)·mean |L_j(x) − L_j(y)| over the pyramid levels of images (B, C, H, W)."""
    distance = x.new_zeros(len(x))
    pairs = zip(laplacian_pyramid(x), laplacian_pyramid(y), strict=True)
    for level, (a, b) in enumerate(pairs):
        distance = distance + 4.0**-level * (a - b).abs().mean(dim=(1, 2, 3))
    return distance


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """PSNR (dB) of images in [−1, 1] (peak-to-peak 2)."""
    mse = float(((x - y) ** 2).mean())
    return float("inf") if mse == 0 else 10 * float(torch.log10(torch.tensor(4.0 / mse)))
