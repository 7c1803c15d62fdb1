"""StyleGAN2's basic pieces: the equalised-lr fully connected layer, bias + activation, and
2nd-moment normalisation, with EG3D's exact arithmetic (no custom CUDA ops).

Equalised learning rate: a layer stores `weight ~ N(0, 1)/lr_multiplier` and
`bias = bias_init`, and uses `weight · lr_multiplier/√fan_in` and `bias · lr_multiplier`
at run time, so checkpoints load by name and Adam sees the same parameter scale.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


def bias_act(
    x: torch.Tensor, bias: torch.Tensor, *, lrelu: bool, clamp: float | None = None
) -> torch.Tensor:
    """EG3D's `bias_act` reference: x + bias (bias along dim 1), then, if `lrelu`,
    leaky_relu(·, 0.2)·√2, then clamp to [−clamp, clamp] if `clamp` is set.

    x is (N, C) or (B, C, H, W); bias is (C,).
    """
    x = x + bias.reshape([-1 if dim == 1 else 1 for dim in range(x.ndim)])
    if lrelu:
        x = F.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(N, C) rows scaled to unit mean square: x · rsqrt(mean(x², dim 1) + eps)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class FullyConnectedLayer(nn.Module):
    """Equalised-lr linear layer (`weight` [out, in], `bias` [out]) with optional leaky ReLU.

    'linear' computes bias + x·Wᵀ in one `addmm`; 'lrelu' computes x·Wᵀ, then `bias_act`.
    Inputs (..., in) of any rank are flattened to 2-D rows and restored.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        activation: Literal["linear", "lrelu"] = "linear",
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        leading = x.shape[:-1]
        rows = x.reshape(-1, self.in_features)
        weight = self.weight.to(x.dtype) * self.weight_gain
        bias = self.bias.to(x.dtype)
        if self.bias_gain != 1:
            bias = bias * self.bias_gain
        if self.activation == "linear":
            out = torch.addmm(bias.unsqueeze(0), rows, weight.t())
        else:
            out = bias_act(rows.matmul(weight.t()), bias, lrelu=True)
        return out.reshape(*leading, self.out_features)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, activation={self.activation}"
