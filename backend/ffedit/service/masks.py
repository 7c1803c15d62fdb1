"""Uploaded masks → label maps at the model's mask resolution.

A mask PNG (indexed, grey or RGB in the layout's colours; checked by content) must be the
model's mask resolution or an exact multiple of it; a multiple is reduced by a majority vote
in each block (ties go to the lower class id). Anything else is an `InvalidMask` that says
which size is expected.
"""

from __future__ import annotations

import numpy as np

from ffedit.io.images import PNG_SIGNATURE, InvalidImage
from ffedit.layouts import InvalidMask, Layout, labels_from_png


def majority_downsample(labels: np.ndarray, factor: int, num_classes: int) -> np.ndarray:
    """(H/f, W/f) int64: the most frequent class id of each f×f block of labels (H, W)."""
    height, width = labels.shape
    blocks = labels.reshape(height // factor, factor, width // factor, factor)
    blocks = blocks.transpose(0, 2, 1, 3).reshape(-1, factor * factor)
    counts = np.zeros((len(blocks), num_classes), dtype=np.int32)
    np.add.at(counts, (np.arange(len(blocks))[:, None], blocks), 1)
    return counts.argmax(axis=1).reshape(height // factor, width // factor).astype(np.int64)


def labels_at_resolution(labels: np.ndarray, resolution: int, num_classes: int) -> np.ndarray:
    """labels (H, W) at resolution², reduced by majority vote from an exact multiple."""
    height, width = labels.shape
    factor = height // resolution
    if height != width or factor < 1 or height != factor * resolution:
        raise InvalidMask(
            f"the mask is {width}×{height} pixels; this model's masks are "
            f"{resolution}×{resolution} (or an exact multiple, e.g. {2 * resolution}×"
            f"{2 * resolution})"
        )
    return labels if factor == 1 else majority_downsample(labels, factor, num_classes)


def labels_from_upload(data: bytes, layout: Layout, resolution: int) -> np.ndarray:
    """(resolution, resolution) int64 class ids of an uploaded mask PNG in `layout`."""
    if not data.startswith(PNG_SIGNATURE):
        raise InvalidImage("the mask is not a PNG image (checked by content, not by name)")
    labels = labels_from_png(data, layout)
    return labels_at_resolution(labels, resolution, layout.num_classes)
