"""StyleGAN2's synthesis network ('skip' architecture), as EG3D's tri-plane backbone uses it.

Blocks b4 … b{R} (one per power of two) each hold two modulated 3×3 convs (b4: a learned
`const` input and one conv) and a ToRGB 1×1 conv. Block k reads the w vectors
ws[:, i : i + num_conv + 1] and advances i by num_conv, so each ToRGB shares its w with the
next block's first conv. The output image is the sum of every ToRGB output, each partial
sum FIR-up-sampled ×2 before the next block adds to it. The super-resolution head reuses
`SynthesisBlock`.

Modulated convolution is computed by scaling activations (styles before the conv,
demodulation coefficients after), which equals EG3D's grouped ('fused') form up to float
round-off.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ffedit.generator.layers import FullyConnectedLayer, bias_act
from ffedit.generator.resample import conv2d_upsample, fir_kernel, upsample2d

NoiseMode = Literal["const", "random", "none"]
NOISE_MODES = ("const", "random", "none")
DEMODULATION_EPS = 1e-8


def check_noise_mode(noise_mode: str) -> None:
    """Raise ValueError unless `noise_mode` is 'const', 'random' or 'none'."""
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}; got {noise_mode!r}")


def block_channels(
    resolution: int, channel_base: int, channel_max: int, channel_min: int = 0
) -> int:
    """Channels of the backbone block at `resolution`: min(channel_base // res, channel_max),
    raised to channel_min."""
    return max(min(channel_base // resolution, channel_max), channel_min)


def demodulation_coefficients(weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """(B, Cout): rsqrt(Σ_{in, kh, kw} (weight·styles)² + 1e-8) for weight (Cout, Cin, K, K)
    modulated per input channel by styles (B, Cin)."""
    weight_energy = weight.square().sum(dim=[2, 3])  # (Cout, Cin)
    return (styles.square() @ weight_energy.t() + DEMODULATION_EPS).rsqrt()


class SynthesisLayer(nn.Module):
    """Modulated, demodulated 3×3 conv (optionally ×2 up-sampling) + noise + bias + lrelu·√2.

    State: `affine` (w → styles, bias 1), `weight` [Cout, Cin, 3, 3], `noise_strength`,
    `bias`, buffers `resample_filter` [4, 4] (registered by every layer as in EG3D, used by
    the up-sampling ones) and `noise_const` [res, res].
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        *,
        up: bool = False,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution = resolution
        self.up = up
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("resample_filter", fir_kernel())
        self.register_buffer("noise_const", torch.randn(resolution, resolution))

    def noise(self, batch: int, noise_mode: NoiseMode, like: torch.Tensor) -> torch.Tensor | None:
        """Per-pixel noise (B or 1, 1, res, res) already scaled by `noise_strength`, or None."""
        if noise_mode == "none":
            return None
        if noise_mode == "random":
            shape = (batch, 1, self.resolution, self.resolution)
            return torch.randn(shape, device=like.device, dtype=like.dtype) * self.noise_strength
        return self.noise_const.to(like.dtype) * self.noise_strength

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: NoiseMode) -> torch.Tensor:
        """x (B, Cin, r, r) and w (B, w_dim) → (B, Cout, res, res)."""
        styles = self.affine(w)
        weight = self.weight.to(x.dtype)
        x = x * styles[:, :, None, None]
        if self.up:
            x = conv2d_upsample(x, weight, self.resample_filter)
        else:
            x = F.conv2d(x, weight, padding=1)
        x = x * demodulation_coefficients(weight, styles)[:, :, None, None]
        noise = self.noise(x.shape[0], noise_mode, x)
        if noise is not None:
            x = x + noise
        return bias_act(x, self.bias.to(x.dtype), lrelu=True, clamp=self.conv_clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1×1 conv without demodulation (styles · 1/√Cin), + bias, optional clamp."""

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, *, conv_clamp: float | None = None
    ) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """x (B, Cin, H, W) and w (B, w_dim) → (B, Cout, H, W)."""
        styles = self.affine(w) * self.weight_gain
        x = F.conv2d(x * styles[:, :, None, None], self.weight.to(x.dtype))
        return bias_act(x, self.bias.to(x.dtype), lrelu=False, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution of the 'skip' synthesis network: (conv0 ↑2 |const), conv1, torgb.

    With in_channels = 0 the block starts from its learned `const` [Cout, res, res] and has
    only `conv1`. Consumes ws (B, num_conv + 1, w_dim): the last one drives `torgb`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        *,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        self.register_buffer("resample_filter", fir_kernel())
        if in_channels != 0:
            self.conv0 = SynthesisLayer(
                in_channels, out_channels, w_dim, resolution, up=True, conv_clamp=conv_clamp
            )
        self.conv1 = SynthesisLayer(
            out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp
        )
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = 1

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,
        noise_mode: NoiseMode,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, Cin, res/2, res/2) or None (const block), img (B, img_ch, res/2, res/2) or
        None, ws (B, num_conv + 1, w_dim) → x (B, Cout, res, res), img (B, img_ch, res, res)."""
        if self.in_channels == 0:
            x = self.const.to(ws.dtype).unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, ws[:, 0], noise_mode)
        else:
            x = self.conv0(x, ws[:, 0], noise_mode)
            x = self.conv1(x, ws[:, 1], noise_mode)
        rgb = self.torgb(x, ws[:, self.num_conv])
        img = rgb if img is None else upsample2d(img, self.resample_filter) + rgb
        return x, img


class SynthesisNetwork(nn.Module):
    """Blocks b4 … b{resolution}; maps ws (B, num_ws, w_dim) to an image (B, img_ch, T, T)."""

    def __init__(
        self,
        w_dim: int,
        resolution: int,
        img_channels: int,
        *,
        channel_base: int,
        channel_max: int,
        channel_min: int = 0,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.block_resolutions = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
        if self.block_resolutions[-1] != resolution:
            raise ValueError(f"synthesis resolution must be a power of two ≥ 4, got {resolution}")
        self.num_ws = 0
        channels = {
            res: block_channels(res, channel_base, channel_max, channel_min)
            for res in self.block_resolutions
        }
        for res in self.block_resolutions:
            block = SynthesisBlock(
                channels.get(res // 2, 0),
                channels[res],
                w_dim,
                res,
                img_channels,
                conv_clamp=conv_clamp,
            )
            self.num_ws += block.num_conv
            setattr(self, f"b{res}", block)
        self.num_ws += 1  # the last block's ToRGB

    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def forward(self, ws: torch.Tensor, noise_mode: NoiseMode = "const") -> torch.Tensor:
        check_noise_mode(noise_mode)
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"ws must be (B, {self.num_ws}, w_dim); got {tuple(ws.shape)}")
        x = img = None
        w_index = 0
        for block in self.blocks():
            block_ws = ws.narrow(1, w_index, block.num_conv + block.num_torgb)
            x, img = block(x, img, block_ws, noise_mode)
            w_index += block.num_conv
        return img
