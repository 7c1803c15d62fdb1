"""The mapping network: (z, camera) → ws, with the tracked mean w and truncation (StyleGAN2).

z is normalised to unit mean square; the camera vector c goes through `embed` (linear) and
the same normalisation; their concatenation passes `fc0 … fc{n−1}` (lrelu, lr ×0.01) and is
broadcast to num_ws rows. Truncation pulls rows toward `w_avg`: w_avg + ψ·(w − w_avg).
"""

from __future__ import annotations

import torch
from torch import nn

from ffedit.generator.layers import FullyConnectedLayer, normalize_2nd_moment


class MappingNetwork(nn.Module):
    """z (B, z_dim), c (B or 1, c_dim) → ws (B, num_ws, w_dim). Buffer `w_avg` (w_dim,)."""

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int,
        *,
        num_layers: int,
        lr_multiplier: float,
        w_avg_beta: float,
    ) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.num_ws = num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        self.embed = FullyConnectedLayer(c_dim, w_dim)
        features = [z_dim + w_dim] + [w_dim] * num_layers
        for index in range(num_layers):
            layer = FullyConnectedLayer(
                features[index],
                features[index + 1],
                activation="lrelu",
                lr_multiplier=lr_multiplier,
            )
            setattr(self, f"fc{index}", layer)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> torch.Tensor:
        """ws (B, num_ws, w_dim). With `update_emas`, `w_avg` moves toward this batch's mean
        w (EMA β = w_avg_beta) before truncation; truncation (ψ ≠ 1) applies to all rows, or
        to the first `truncation_cutoff` rows only."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must be (B, {self.z_dim}); got {tuple(z.shape)}")
        if c.ndim != 2 or c.shape[1] != self.c_dim or c.shape[0] not in (1, z.shape[0]):
            raise ValueError(f"c must be (B or 1, {self.c_dim}); got {tuple(c.shape)}")
        c = c.expand(z.shape[0], -1)
        x = normalize_2nd_moment(z.to(torch.float32))
        y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
        x = torch.cat([x, y], dim=1)
        for index in range(self.num_layers):
            x = getattr(self, f"fc{index}")(x)
        if update_emas:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            truncated = self.w_avg.lerp(ws[:, :cutoff], truncation_psi)
            ws = torch.cat([truncated, ws[:, cutoff:]], dim=1)
        return ws
