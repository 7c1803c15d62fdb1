"""What the adapter reads at 3D points: normalised tri-plane features and the geometry
decoder's output, from planes normalised once.

The generator's own point decoding (`TriplaneGenerator.sample_points`) re-normalises the
planes and runs the appearance decoder on every call; the adapter needs neither the colour
nor repeated statistics, so its trainers sample the geometry branch alone. The values are
the generator's (same statistics, same bilinear look-up, same decoder); the reference-twin
test compares the composited result with `TriplaneGenerator.render(seg_head=…)`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ffedit.generator import TriplaneGenerator
from ffedit.generator.planes import normalize_planes, plane_statistics
from ffedit.render import sample_triplane_features

GeometrySampler = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""points (B, N, 3) → (normalised features (B, N, C), geometry output (B, N, 1 + L))."""


def geometry_sampler(generator: TriplaneGenerator, planes: torch.Tensor) -> GeometrySampler:
    """A sampler of the geometry branch of raw planes (B, 3, C, H, W)."""
    normalized = normalize_planes(planes, plane_statistics(planes))
    # channels-last memory order: grid_sample reads each point's channels contiguously
    normalized = normalized.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
    box_warp = generator.config.render.box_warp

    def sample(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = sample_triplane_features(normalized, points, box_warp)
        return features, generator.decoder.geometry(features)

    return sample
