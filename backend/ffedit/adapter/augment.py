"""LMTA, FFaceNeRF's latent-mixing tri-plane augmentation, as pure functions.

With probability p (0.5) a training batch is augmented: one random z for the whole batch is
mapped, conditioned on the front camera and truncated toward `w_avg` with ψ = 0.7, and the
appearance rows of every sample's ws (the generator's `appearance_ws`, w9–w13 for EG3D at
256²) become ½·ws + ½·w_mix. The labels are reused unchanged: these rows change fine texture
and colour, not the layout. Unlike the reference code, `w_avg` is never updated here
(`update_emas=False`): augmenting must not change the generator.
"""

from __future__ import annotations

import torch

from ffedit.camera import named_camera
from ffedit.generator import TriplaneGenerator

MIXING_PSI = 0.7
"""Truncation of the random w (toward `w_avg`, all rows)."""
KEEP_FRACTION = 0.5
"""Share of the sample's own ws in a mixed row (FFaceNeRF: 1 − alpha with alpha = 0.5)."""


def random_mixing_ws(
    generator: TriplaneGenerator,
    z: torch.Tensor,
    truncation_psi: float = MIXING_PSI,
) -> torch.Tensor:
    """ws (1, num_ws, w_dim) of one random z (1, z_dim), conditioned on the front camera and
    truncated toward `w_avg`; the generator's `w_avg` is left untouched."""
    camera = named_camera("front")[None].to(z.device)
    with torch.no_grad():
        return generator.mapping(z, camera, truncation_psi=truncation_psi, update_emas=False)


def mix_appearance_ws(
    ws: torch.Tensor,
    mixing_ws: torch.Tensor,
    layers: tuple[int, ...],
    keep: float = KEEP_FRACTION,
) -> torch.Tensor:
    """ws (B, num_ws, w_dim) with rows `layers` replaced by keep·ws + (1 − keep)·mixing_ws.

    mixing_ws is (1 or B, num_ws, w_dim); other rows are returned unchanged (a new tensor).
    """
    if ws.ndim != 3 or mixing_ws.ndim != 3 or mixing_ws.shape[1:] != ws.shape[1:]:
        raise ValueError(
            f"ws {tuple(ws.shape)} and mixing ws {tuple(mixing_ws.shape)} must be "
            "(B, num_ws, w_dim) and (1 or B, num_ws, w_dim)"
        )
    if any(not 0 <= layer < ws.shape[1] for layer in layers):
        raise ValueError(f"mixing layers {layers} must lie in [0, {ws.shape[1] - 1}]")
    rows = list(layers)
    mixed = ws.clone()
    mixing = mixing_ws.to(ws).expand_as(ws)
    mixed[:, rows] = keep * ws[:, rows] + (1 - keep) * mixing[:, rows]
    return mixed
