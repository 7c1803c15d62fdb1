"""A face's ws: the generator's ws of a seed (or of a z), the same face synthface builds from
the seed.

A seed's z is `torch.randn(z_dim)` from a generator seeded with it: for z_dim = 512 this is
exactly `ffedit.synthface.latent_from_seed`, so the shipped (distilled) generator's face of a
seed is synthface's face of that seed, and its edits can be measured against synthface's
exact edited face. ws are mapped with the front camera as conditioning (ignored by pose-free
generators), as `ffedit render` does.
"""

from __future__ import annotations

import torch

from ffedit.camera import named_camera
from ffedit.generator.triplane import TriplaneGenerator


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """(z_dim,) z ~ N(0, I) of a seed."""
    return torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed)))


def ws_from_z(generator: TriplaneGenerator, z: torch.Tensor) -> torch.Tensor:
    """(num_ws, w_dim) ws of z (z_dim,) on the generator's device (no truncation)."""
    if z.shape != (generator.config.z_dim,):
        raise ValueError(f"a latent z has {generator.config.z_dim} values, got {tuple(z.shape)}")
    device = generator.device
    with torch.no_grad():
        camera = named_camera("front")[None].to(device)
        return generator.mapping(z[None].to(device), camera)[0]


def ws_from_seed(generator: TriplaneGenerator, seed: int) -> torch.Tensor:
    """(num_ws, w_dim) ws of the face of `seed`."""
    return ws_from_z(generator, z_from_seed(seed, generator.config.z_dim))
