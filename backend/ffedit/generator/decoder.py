"""NeRFFaceEditing's two tri-plane decoders (`DisentangledOSGDecoder` without an adapter).

- `geo_net` = FC(C→hidden) → Softplus → FC(hidden→1+L) on normalised features: raw σ and
  L segmentation logits (NeRFFaceEditing: L = 15).
- `app_net` = FC(C→hidden) → Softplus → FC(hidden→Cf) on appearance features, mapped by
  sigmoid(x)·(1 + 2·0.001) − 0.001 to colour features in [−0.001, 1.001] (first three: RGB).
"""

from __future__ import annotations

import torch
from torch import nn

from ffedit.generator.layers import FullyConnectedLayer

FEATURE_PADDING = 0.001


def decoder_mlp(in_features: int, hidden: int, out_features: int, lr_multiplier: float):
    """Sequential(FC, Softplus, FC): state_dict names `0.*` and `2.*` as in EG3D."""
    return nn.Sequential(
        FullyConnectedLayer(in_features, hidden, lr_multiplier=lr_multiplier),
        nn.Softplus(),
        FullyConnectedLayer(hidden, out_features, lr_multiplier=lr_multiplier),
    )


def colour_features(app_output: torch.Tensor) -> torch.Tensor:
    """sigmoid(x)·(1 + 2·0.001) − 0.001: EG3D's padded sigmoid."""
    return torch.sigmoid(app_output) * (1 + 2 * FEATURE_PADDING) - FEATURE_PADDING


class TriplaneDecoder(nn.Module):
    """The geometry decoder `geo_net` and the appearance decoder `app_net`."""

    def __init__(
        self,
        plane_channels: int,
        hidden: int,
        seg_classes: int,
        feature_channels: int,
        *,
        lr_multiplier: float = 1.0,
    ) -> None:
        super().__init__()
        self.geo_net = decoder_mlp(plane_channels, hidden, 1 + seg_classes, lr_multiplier)
        self.app_net = decoder_mlp(plane_channels, hidden, feature_channels, lr_multiplier)

    def geometry(self, normalized_features: torch.Tensor) -> torch.Tensor:
        """(B, N, C) normalised features → (B, N, 1 + L): raw σ, then L segmentation logits."""
        return self.geo_net(normalized_features)

    def appearance(self, appearance_features: torch.Tensor) -> torch.Tensor:
        """(B, N, C) appearance features → (B, N, Cf) colour features in [−0.001, 1.001]."""
        return colour_features(self.app_net(appearance_features))
