"""Generator images as 8-bit arrays: (x + 1)·127.5, rounded and clipped to [0, 255]."""

from __future__ import annotations

import numpy as np
import torch


def uint8_image(image: torch.Tensor) -> np.ndarray:
    """An RGB image (3, H, W) in [−1, 1] → a uint8 numpy array (H, W, 3)."""
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected an image of shape (3, H, W), got {tuple(image.shape)}")
    scaled = ((image.detach().float() + 1) * 127.5).round().clamp(0, 255)
    return scaled.to(torch.uint8).permute(1, 2, 0).cpu().numpy()
