"""The super-resolution head: EG3D's `SuperresolutionHybrid8XDC`, generalised to any number
of ×2 StyleGAN2 synthesis blocks (one per entry of `block_channels`).

The raw RGB image starts the skip image and the colour-feature image is the block input;
both are first resized to `input_resolution` (bilinear, align_corners=False, optionally
antialiased) if they are not that size. Every layer of every block is driven by the last
w vector, ws[:, −1]. The output is the accumulated RGB image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ffedit.config import SuperResolutionConfig
from ffedit.generator.synthesis import SynthesisBlock, check_noise_mode

RGB_CHANNELS = 3


class SuperResolution(nn.Module):
    """Blocks `block0`, `block1`, …: (Cf → c₀ at 2·in), (c₀ → c₁ at 4·in), …"""

    def __init__(self, config: SuperResolutionConfig, feature_channels: int, w_dim: int) -> None:
        super().__init__()
        check_noise_mode(config.noise_mode)
        self.config = config
        in_channels = feature_channels
        resolution = config.input_resolution
        for index, out_channels in enumerate(config.block_channels):
            resolution *= 2
            block = SynthesisBlock(
                in_channels,
                out_channels,
                w_dim,
                resolution,
                RGB_CHANNELS,
                conv_clamp=config.conv_clamp,
            )
            setattr(self, f"block{index}", block)
            in_channels = out_channels

    def resized(self, image: torch.Tensor) -> torch.Tensor:
        size = self.config.input_resolution
        return F.interpolate(
            image,
            size=(size, size),
            mode="bilinear",
            align_corners=False,
            antialias=self.config.antialias,
        )

    def forward(
        self, rgb_raw: torch.Tensor, features: torch.Tensor, ws: torch.Tensor
    ) -> torch.Tensor:
        """rgb_raw (B, 3, H, W), features (B, Cf, H, W), ws (B, num_ws, w_dim) → image
        (B, 3, S, S), S = input_resolution · 2^blocks."""
        block_ws = ws[:, -1:].repeat(1, 3, 1)
        if features.shape[-1] != self.config.input_resolution:
            features, rgb_raw = self.resized(features), self.resized(rgb_raw)
        x, img = features, rgb_raw
        for index in range(len(self.config.block_channels)):
            x, img = getattr(self, f"block{index}")(x, img, block_ws, self.config.noise_mode)
        return img
