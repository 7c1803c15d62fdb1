"""Generator images as 8-bit arrays: (x + 1)·127.5, rounded and clipped to [0, 255], and
8-bit images back to [−1, 1] (v / 127.5 − 1)."""

from __future__ import annotations

import numpy as np
import torch


def uint8_image(image: torch.Tensor) -> np.ndarray:
    """An RGB image (3, H, W) in [−1, 1] → a uint8 numpy array (H, W, 3)."""
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected an image of shape (3, H, W), got {tuple(image.shape)}")
    return uint8_tensor(image).permute(1, 2, 0).cpu().numpy()


def uint8_tensor(image: torch.Tensor) -> torch.Tensor:
    """An image (..., H, W) in [−1, 1] → uint8 (same shape, same device)."""
    return ((image.detach().float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def signed_image(image: torch.Tensor) -> torch.Tensor:
    """A uint8 image (any shape) → float32 in [−1, 1], the inverse of `uint8_tensor`."""
    return image.float() / 127.5 - 1
