"""FIR up-sampling as StyleGAN2/EG3D does it (`upfirdn2d`, `conv2d_resample`), in plain PyTorch.

The resampling filter is [1, 3, 3, 1] ⊗ [1, 3, 3, 1] / 64. Filtering is a true convolution
(the kernel is flipped; it is symmetric anyway) of the zero-padded image, depthwise, 'valid'.

- `upsample2d` (the skip image ×2): insert a zero after every pixel in both directions, pad
  (x0, x1, y0, y1) = (2, 1, 2, 1), filter with gain 4 → (2H, 2W).
- `conv2d_upsample` (a 3×3 conv with up=2): transposed conv with stride 2 and the weight
  transposed to [in, out, 3, 3] but not flipped → (2H+1, 2W+1); then pad 1 on every side
  and filter with gain 4 → (2H, 2W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FIR_TAPS = (1.0, 3.0, 3.0, 1.0)
UP = 2


def fir_kernel(taps: tuple[float, ...] = FIR_TAPS) -> torch.Tensor:
    """The separable 2-D kernel (K, K): outer(taps, taps), normalised to sum 1."""
    line = torch.tensor(taps, dtype=torch.float32)
    kernel = torch.outer(line, line)
    return kernel / kernel.sum()


def fir_filter2d(
    x: torch.Tensor, kernel: torch.Tensor, padding: tuple[int, int, int, int], gain: float
) -> torch.Tensor:
    """Zero-pad x (B, C, H, W) by (x0, x1, y0, y1), then convolve each channel with
    kernel·gain (K, K), 'valid': (B, C, H + y0 + y1 − K + 1, W + x0 + x1 − K + 1)."""
    channels = x.shape[1]
    x = F.pad(x, list(padding))
    weight = (kernel.to(x.dtype) * gain).flip([0, 1])
    weight = weight[None, None].repeat(channels, 1, 1, 1)
    return F.conv2d(x, weight, groups=channels)


def zero_insert2d(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B, C, 2H, 2W): every pixel followed by a zero, in both directions."""
    batch, channels, height, width = x.shape
    x = x.reshape(batch, channels, height, 1, width, 1)
    x = F.pad(x, [0, UP - 1, 0, 0, 0, UP - 1])
    return x.reshape(batch, channels, height * UP, width * UP)


def upsample2d(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """×2 FIR up-sampling of images (B, C, H, W) → (B, C, 2H, 2W) (EG3D `upsample2d`)."""
    size = kernel.shape[-1]
    pad0, pad1 = (size + UP - 1) // 2, (size - UP) // 2
    return fir_filter2d(zero_insert2d(x), kernel, (pad0, pad1, pad0, pad1), gain=UP * UP)


def conv2d_upsample(x: torch.Tensor, weight: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """3×3 convolution with ×2 up-sampling (EG3D `conv2d_resample`, up=2, padding 1).

    x (B, Cin, H, W), weight (Cout, Cin, 3, 3) → (B, Cout, 2H, 2W).
    """
    size, taps = weight.shape[-1], kernel.shape[-1]
    x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=UP)
    pad0 = size // 2 + (taps + UP - 1) // 2 - (size - 1)
    pad1 = size // 2 + (taps - UP) // 2 - (size - UP)
    return fir_filter2d(x, kernel, (pad0, pad1, pad0, pad1), gain=UP * UP)
