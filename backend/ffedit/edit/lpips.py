"""LPIPS-VGG (Zhang et al. 2018, v0.1), an optional edit loss, built from a state dict.

FFaceNeRF's edit uses LPIPS-VGG as a preservation term. Its weights (torchvision's ImageNet
VGG16 and LPIPS's linear heads) cannot be downloaded on the machines this project targets,
so LPIPS is opt-in: `EditConfig.lpips_weights` names one file (safetensors, or a PyTorch
state dict read without running code; `ffedit.io.lpips.load_lpips` reads it and the caller
hands the network to `optimize_latent`) holding

- `features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}`: torchvision `vgg16().features`
  convolutions (the keys of its state dict that start with `features.`), and
- `lin{0..4}.model.1.weight`: the five 1×1 heads of the `lpips` package's `vgg.pth`;

e.g. `torch.save({**vgg16_state, **lpips_vgg_state}, "lpips-vgg.pth")`. Channel widths are
read from the weights. The distance of two images in [−1, 1]: shift/scale the input, take
the ReLU outputs closing the five VGG blocks, normalise each feature vector to unit length,
square the differences, weigh the channels by the heads, average over space, sum the blocks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ffedit.edit.errors import LpipsWeightsError

VGG_BLOCKS: tuple[tuple[int, ...], ...] = (
    (0, 2),
    (5, 7),
    (10, 12, 14),
    (17, 19, 21),
    (24, 26, 28),
)
"""torchvision `features` indices of the convolutions of each VGG16 block; a 2×2 max pool
precedes every block but the first."""
INPUT_SHIFT = (-0.030, -0.088, -0.188)
INPUT_SCALE = (0.458, 0.448, 0.450)
NORM_EPS = 1e-10


def _required_keys() -> list[str]:
    convs = [
        f"features.{i}.{part}" for block in VGG_BLOCKS for i in block for part in ("weight", "bias")
    ]
    return convs + [f"lin{k}.model.1.weight" for k in range(len(VGG_BLOCKS))]


class LpipsVgg(nn.Module):
    """LPIPS-VGG with fixed weights: forward(x, y) → (B,) distances of images (B, 3, H, W)."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        super().__init__()
        missing = [key for key in _required_keys() if key not in state]
        if missing:
            shown = ", ".join(missing[:6]) + (" …" if len(missing) > 6 else "")
            raise LpipsWeightsError(f"LPIPS weights lack {len(missing)} tensors: {shown}")
        self.convs = nn.ModuleList()
        for block in VGG_BLOCKS:
            for index in block:
                weight, bias = state[f"features.{index}.weight"], state[f"features.{index}.bias"]
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1)
                conv.weight.data.copy_(weight)
                conv.bias.data.copy_(bias)
                self.convs.append(conv)
        self.heads = nn.ParameterList(
            nn.Parameter(state[f"lin{k}.model.1.weight"].float().clone())
            for k in range(len(VGG_BLOCKS))
        )
        self.register_buffer("shift", torch.tensor(INPUT_SHIFT).reshape(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(INPUT_SCALE).reshape(1, 3, 1, 1))
        self.requires_grad_(False)

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The five block outputs (B, C_k, H_k, W_k) of images (B, 3, H, W) in [−1, 1]."""
        x = (images - self.shift) / self.scale
        outputs, convs = [], iter(self.convs)
        for index, block in enumerate(VGG_BLOCKS):
            if index > 0:
                x = F.max_pool2d(x, 2)
            for _ in block:
                x = F.relu(next(convs)(x))
            outputs.append(x)
        return outputs

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        distance = torch.zeros(len(x), device=x.device, dtype=x.dtype)
        for head, fx, fy in zip(self.heads, self.features(x), self.features(y), strict=True):
            nx = fx / (fx.square().sum(1, keepdim=True).sqrt() + NORM_EPS)
            ny = fy / (fy.square().sum(1, keepdim=True).sqrt() + NORM_EPS)
            weighted = F.conv2d((nx - ny).square(), head)
            distance = distance + weighted.mean(dim=(1, 2, 3))
        return distance
