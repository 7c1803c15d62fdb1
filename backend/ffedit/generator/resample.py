"""FIR up-sampling as StyleGAN2/EG3D does it (`upfirdn2d`, `conv2d_resample`), in plain PyTorch.

The resampling filter is [1, 3, 3, 1] ⊗ [1, 3, 3, 1] / 64. Filtering is a true convolution
(the kernel is flipped; it is symmetric anyway) of the zero-padded image, depthwise, 'valid'.

- `upsample2d` (the skip image ×2): insert a zero after every pixel in both directions, pad
  (x0, x1, y0, y1) = (2, 1, 2, 1), filter with gain 4 → (2H, 2W).
- `conv2d_upsample` (a 3×3 conv with up=2): transposed conv with stride 2 and the weight
  transposed to [in, out, 3, 3] but not flipped → (2H+1, 2W+1); then pad 1 on every side
  and filter with gain 4 → (2H, 2W).

The filter is separable, so zero insertion, padding and filtering along one axis are one
banded matrix (`fir_matrix`) and the 2-D operation is M_H · x · M_Wᵀ: on CPU the two
matrix products (and their backward) are about 3× faster than a depthwise convolution of
the zero-inserted image, the largest single cost of the backbone at 128².
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FIR_TAPS = (1.0, 3.0, 3.0, 1.0)
UP = 2


def fir_kernel(taps: tuple[float, ...] = FIR_TAPS) -> torch.Tensor:
    """The separable 2-D kernel (F, F): outer(taps, taps), normalised to sum 1."""
    line = torch.tensor(taps, dtype=torch.float32)
    kernel = torch.outer(line, line)
    return kernel / kernel.sum()


def separable_taps(kernel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Vertical and horizontal taps (F,), (F,) whose outer product is kernel (F, F);
    ValueError when the kernel is not such a product (EG3D's filters always are)."""
    vertical = kernel.sum(1)
    horizontal = kernel.sum(0) / kernel.sum()
    if not torch.allclose(torch.outer(vertical, horizontal), kernel, atol=1e-6, rtol=1e-5):
        raise ValueError(
            "the resampling filter must be separable (an outer product of 1-D taps, as "
            f"EG3D's [1, 3, 3, 1] filter is); got {kernel.tolist()}"
        )
    return vertical, horizontal


@torch.compiler.disable  # built from sizes: torch.compile's symbolic shapes choke on it
def fir_matrix(taps: torch.Tensor, size: int, pad0: int, pad1: int, up: int = 1) -> torch.Tensor:
    """(size·up + pad0 + pad1 − F + 1, size) matrix of one axis: insert up − 1 zeros after
    every sample, zero-pad by (pad0, pad1), convolve with taps (F,), 'valid'."""
    count = size * up + pad0 + pad1 - len(taps) + 1
    # Output j reads input i through tap t = i·up + pad0 − j of the flipped taps.
    tap = (torch.arange(size, device=taps.device) * up + pad0)[None] - torch.arange(
        count, device=taps.device
    )[:, None]
    inside = (tap >= 0) & (tap < len(taps))
    return torch.where(inside, taps.flip(0)[tap.clamp(0, len(taps) - 1)], 0.0)


def fir_filter2d(
    x: torch.Tensor,
    kernel: torch.Tensor,
    padding: tuple[int, int, int, int],
    gain: float,
    up: int = 1,
) -> torch.Tensor:
    """Insert up − 1 zeros after every pixel of x (B, C, H, W), zero-pad by (x0, x1, y0,
    y1), then convolve each channel with kernel·gain (F, F), 'valid':
    (B, C, H·up + y0 + y1 − F + 1, W·up + x0 + x1 − F + 1)."""
    vertical, horizontal = separable_taps(kernel.to(x) * gain)
    x0, x1, y0, y1 = padding
    rows = fir_matrix(vertical, x.shape[-2], y0, y1, up)
    columns = fir_matrix(horizontal, x.shape[-1], x0, x1, up)
    return rows @ (x @ columns.T)


def upsample2d(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """×2 FIR up-sampling of images (B, C, H, W) → (B, C, 2H, 2W) (EG3D `upsample2d`)."""
    size = kernel.shape[-1]
    pad0, pad1 = (size + UP - 1) // 2, (size - UP) // 2
    return fir_filter2d(x, kernel, (pad0, pad1, pad0, pad1), gain=UP * UP, up=UP)


def conv2d_upsample(x: torch.Tensor, weight: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """3×3 convolution with ×2 up-sampling (EG3D `conv2d_resample`, up=2, padding 1).

    x (B, Cin, H, W), weight (Cout, Cin, 3, 3) → (B, Cout, 2H, 2W).
    """
    size, taps = weight.shape[-1], kernel.shape[-1]
    x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=UP)
    pad0 = size // 2 + (taps + UP - 1) // 2 - (size - 1)
    pad1 = size // 2 + (taps - UP) // 2 - (size - UP)
    return fir_filter2d(x, kernel, (pad0, pad1, pad0, pad1), gain=UP * UP)
