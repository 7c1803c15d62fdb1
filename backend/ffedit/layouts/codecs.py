"""Mask codecs: label maps ⇄ colour images ⇄ PNG bytes, in a layout's colours and ids.

Everything works in memory on numpy arrays and bytes (files are `ffedit.io`'s business).
Two PNG forms exist:

- **indexed** (PIL mode "P"): pixel value = class id, the layout's colours embedded as the
  palette, so the file both decodes exactly and looks right in an image viewer;
- **colour** (RGB): each pixel in its class colour, the form paint tools and FFaceNeRF's
  target masks use. Decoding accepts colours within ±1 per channel of a class colour
  (`COLOR_TOLERANCE`); any other colour is an `InvalidMask` that sums them up in a short
  sentence (`unknown_colors_message`: pixels, distinct colours, the nearest classes, what to
  do). Fully transparent pixels of RGBA images are background.

Grey (mode "L") PNGs are read as class ids, like indexed ones.

A mask of the model's mask resolution or an exact multiple of it is brought to that
resolution by `labels_at_resolution`: a multiple is reduced by a majority vote in each block
(ties go to the lower class id); any other size is an `InvalidMask` that says which size is
expected.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ffedit.layouts.errors import InvalidMask
from ffedit.layouts.layout import COLOR_TOLERANCE, Layout

_NEAREST_LISTED = 3
"""`unknown_colors_message` names this many nearest classes at most."""


def _check_labels(labels: np.ndarray, layout: Layout) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.size == 0:
        raise InvalidMask(f"a label map is a non-empty (H, W) array, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InvalidMask(f"a label map holds integer class ids, got {labels.dtype}")
    if labels.min() < 0 or labels.max() >= layout.num_classes:
        raise InvalidMask(
            f"class ids must lie in [0, {layout.num_classes - 1}] for layout {layout.name!r}, "
            f"got [{labels.min()}, {labels.max()}]"
        )
    return labels


def colors_from_labels(labels: np.ndarray, layout: Layout) -> np.ndarray:
    """(H, W, 3) uint8 image of a (H, W) label map in the layout's class colours."""
    return layout.colors[_check_labels(labels, layout)]


def nearest_classes(colors: np.ndarray, layout: Layout) -> np.ndarray:
    """(U,) int64 id of the layout class nearest (RGB distance, ties to the lower id) to each
    of colors (U, 3)."""
    colors = colors.astype(np.int32)
    distance = sum(
        (colors[:, None, c] - layout.colors[None, :, c].astype(np.int32)) ** 2 for c in range(3)
    )
    return distance.argmin(-1).astype(np.int64)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def unknown_colors_message(nearest: np.ndarray, counts: np.ndarray, layout: Layout) -> str:
    """What an `InvalidMask` says of colours not in the layout, given each such colour's
    nearest class id (U,) and pixel count (U,): pixels, distinct colours, the nearest
    classes by pixels (`_NEAREST_LISTED` at most) and the remedy; short for any U."""
    per_class = np.bincount(nearest, weights=counts, minlength=layout.num_classes)
    top = np.argsort(-per_class, kind="stable")[:_NEAREST_LISTED]
    classes = ", ".join(
        f"{layout.class_names[i]} ({_count(int(per_class[i]), 'pixel')})"
        for i in top
        if per_class[i]
    )
    pixels = int(counts.sum())
    verb = "has a colour that is" if pixels == 1 else "have colours that are"
    return (
        f"{_count(pixels, 'pixel')} {verb} not in layout {layout.name!r} "
        f"({_count(len(counts), 'different colour')}); nearest classes: {classes}; save the mask "
        "as an indexed PNG or paint only with the layout's colours"
    )


def labels_from_colors(image: np.ndarray, layout: Layout) -> np.ndarray:
    """(H, W) int64 class ids of an (H, W, 3) uint8 image in the layout's colours (±1).

    Raises `InvalidMask` summing up the unknown colours (`unknown_colors_message`).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InvalidMask(f"expected a uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    unique, inverse = np.unique(image.reshape(-1, 3), axis=0, return_inverse=True)
    # class colours are > 2·tol apart per channel, so a colour within ±tol of a class colour
    # has that class as its nearest one
    nearest = nearest_classes(unique, layout)
    offset = np.abs(unique.astype(np.int16) - layout.colors[nearest].astype(np.int16))
    known = offset.max(-1) <= COLOR_TOLERANCE
    if not known.all():
        counts = np.bincount(inverse.reshape(-1), minlength=len(unique))
        raise InvalidMask(unknown_colors_message(nearest[~known], counts[~known], layout))
    return nearest[inverse.reshape(-1)].reshape(image.shape[:2])


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def indexed_png_from_labels(labels: np.ndarray, layout: Layout) -> bytes:
    """PNG bytes (mode "P") of a (H, W) label map: index = class id, palette = layout colours."""
    labels = _check_labels(labels, layout)
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette(layout.colors.reshape(-1).tolist())
    return _png_bytes(image)


def color_png_from_labels(labels: np.ndarray, layout: Layout) -> bytes:
    """RGB PNG bytes of a (H, W) label map in the layout's colours."""
    return _png_bytes(Image.fromarray(colors_from_labels(labels, layout), mode="RGB"))


def labels_from_png(data: bytes, layout: Layout) -> np.ndarray:
    """(H, W) int64 class ids of a mask PNG: indexed/grey by index, RGB(A) by colour.

    Raises `InvalidMask` for data that is not a PNG, indices ≥ the layout's class count, or
    unknown colours.
    """
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()
            mode = image.mode
            pixels = np.asarray(image.convert("RGBA") if mode in ("RGB", "RGBA", "LA") else image)
    except (OSError, SyntaxError, ValueError) as error:
        raise InvalidMask(f"mask is not a readable PNG image: {error}") from error
    if mode in ("P", "L"):
        if pixels.max(initial=0) >= layout.num_classes:
            counts = np.bincount(pixels.reshape(-1))
            bad = {i: int(counts[i]) for i in range(layout.num_classes, len(counts)) if counts[i]}
            raise InvalidMask(
                f"mask indices must be < {layout.num_classes} (classes of layout {layout.name!r}); "
                f"found index: pixel count {bad}"
            )
        return pixels.astype(np.int64)
    if mode not in ("RGB", "RGBA", "LA"):
        raise InvalidMask(f"mask PNG mode {mode!r} is not supported (use indexed, grey or RGB)")
    rgb = np.where(pixels[..., 3:] == 0, 0, pixels[..., :3]).astype(np.uint8)
    return labels_from_colors(rgb, layout)


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
