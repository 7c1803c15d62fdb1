"""Masks of a custom layout: deterministic renders with the adapter as the seg head.

Density, colour and depth are the generator's own; only the composited segmentation logits
come from the adapter. Rendering is deterministic (linspace depths, inverse-CDF importance
samples at fixed quantiles, constant backbone noise), so a prediction is reproducible.
"""

from __future__ import annotations

import torch

from ffedit.adapter.network import GeometryAdapter
from ffedit.generator import TriplaneGenerator


def predict_logits(
    generator: TriplaneGenerator,
    adapter: GeometryAdapter,
    ws: torch.Tensor,
    cameras: torch.Tensor,
    chunk_rays: int | None = None,
) -> torch.Tensor:
    """Composited adapter logits (B, K, H, W) of ws (B, num_ws, w_dim) from cameras
    (B or 1, 25), at the generator's neural rendering resolution."""
    with torch.no_grad():
        output = generator.render(
            ws, cameras, super_resolve=False, chunk_rays=chunk_rays, seg_head=adapter
        )
    return output.seg_logits


def predict_masks(
    generator: TriplaneGenerator,
    adapter: GeometryAdapter,
    ws: torch.Tensor,
    cameras: torch.Tensor,
    chunk_rays: int | None = None,
) -> torch.Tensor:
    """Class ids (B, H, W) int64: the argmax of `predict_logits`."""
    return predict_logits(generator, adapter, ws, cameras, chunk_rays).argmax(dim=1)
