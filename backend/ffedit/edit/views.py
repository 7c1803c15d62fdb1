"""What an edit shows: renders at named views (RGB, mask, overlay) and orbit video frames.

Every render of an edited face uses the edit's appearance lock (`EditResult.plane_stats`)
and the layout's geometry adapter as the segmentation head; the tri-planes are synthesised
once per face and reused for every camera. RGB is the super-resolved image; masks are at the
neural rendering resolution; overlays blend the mask colours (nearest-upsampled) over the RGB.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch

from ffedit.camera import named_camera, orbit_cameras
from ffedit.generator import SegHead, TriplaneGenerator, uint8_image
from ffedit.generator.planes import PlaneStatistics
from ffedit.layouts import Layout, colors_from_labels

OVERLAY_OPACITY = 0.5
"""Share of the mask colour in an overlay pixel."""


class ViewRender(NamedTuple):
    """One face at one view."""

    rgb: np.ndarray
    """(S, S, 3) uint8 super-resolved RGB."""
    labels: np.ndarray
    """(H, W) int64 class ids of the layout."""
    overlay: np.ndarray
    """(S, S, 3) uint8 mask colours blended over the RGB."""


def overlay_image(
    rgb: np.ndarray, labels: np.ndarray, layout: Layout, opacity: float = OVERLAY_OPACITY
) -> np.ndarray:
    """(S, S, 3) uint8: label colours (H, W) upsampled (nearest) to the RGB (S, S, 3), blended
    with `opacity`; S must be a multiple of H."""
    scale = rgb.shape[0] // labels.shape[0]
    if scale < 1 or rgb.shape[:2] != (labels.shape[0] * scale, labels.shape[1] * scale):
        raise ValueError(f"RGB {rgb.shape[:2]} is not a multiple of the mask {labels.shape}")
    colors = colors_from_labels(labels, layout).repeat(scale, axis=0).repeat(scale, axis=1)
    blended = (1 - opacity) * rgb.astype(np.float32) + opacity * colors.astype(np.float32)
    return blended.round().clip(0, 255).astype(np.uint8)


def render_views(
    generator: TriplaneGenerator,
    adapter: SegHead | None,
    ws: torch.Tensor,
    plane_stats: PlaneStatistics | None,
    layout: Layout,
    views: tuple[str, ...] = ("front", "left", "right"),
    chunk_rays: int | None = None,
) -> dict[str, ViewRender]:
    """Renders of ws (num_ws, w_dim) at named views, appearance locked to plane_stats (None:
    the ws's own); labels in `layout` (the adapter's)."""
    renders = {}
    with torch.no_grad():
        planes = generator.synthesize_planes(ws[None])
        for view in views:
            output = generator.render(
                ws[None],
                named_camera(view)[None].to(ws.device),
                planes=planes,
                plane_stats=plane_stats,
                chunk_rays=chunk_rays,
                seg_head=adapter,
            )
            rgb = uint8_image(output.image[0])
            labels = output.seg_logits[0].argmax(0).cpu().numpy()
            renders[view] = ViewRender(rgb, labels, overlay_image(rgb, labels, layout))
    return renders


def orbit_frames(
    generator: TriplaneGenerator,
    ws: torch.Tensor,
    plane_stats: PlaneStatistics | None,
    num_frames: int,
    chunk_rays: int | None = None,
) -> Iterator[np.ndarray]:
    """(S, S, 3) uint8 super-resolved frames of ws along NeRFFaceEditing's orbit, one at a
    time (`ffedit.camera.orbit_cameras`)."""
    with torch.no_grad():
        planes = generator.synthesize_planes(ws[None])
    for camera in orbit_cameras(num_frames).to(ws.device):
        with torch.no_grad():
            output = generator.render(
                ws[None],
                camera[None],
                planes=planes,
                plane_stats=plane_stats,
                chunk_rays=chunk_rays,
            )
        yield uint8_image(output.image[0])
