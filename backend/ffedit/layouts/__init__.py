"""Layouts as data and mask codecs: label names, colours, fine-label coverage, PNG forms.

A layout is a named list of classes (name, RGB colour, covered synthface fine labels). The
built-ins are `base15`, `base17`, `eyes19`, `nose19`, `chin20`; user layouts extend a base
with new classes. Masks convert between (H, W) class-id maps, colour images and PNG bytes
(indexed with the palette embedded, or RGB in the layout's colours); `metrics` scores
predicted masks (IoU tables, the reference mIoU). Depends on numpy/torch/pillow only;
nothing here touches disk.
"""

from ffedit.layouts.atlas import FINE_LABEL_IDS, FINE_LABELS
from ffedit.layouts.codecs import (
    color_png_from_labels,
    colors_from_labels,
    indexed_png_from_labels,
    labels_at_resolution,
    labels_from_colors,
    labels_from_png,
    majority_downsample,
)
from ffedit.layouts.errors import InvalidLayout, InvalidMask, UnknownLayout
from ffedit.layouts.layout import (
    BASE_LAYOUT,
    BUILTIN_LAYOUTS,
    COLOR_TOLERANCE,
    Layout,
    LayoutClass,
    atlas_layout,
    class_of_fine_label,
    extend_layout,
    get_layout,
    labels_from_fine,
    layout_from_json,
    layout_to_json,
)

__all__ = [
    "BASE_LAYOUT",
    "BUILTIN_LAYOUTS",
    "COLOR_TOLERANCE",
    "FINE_LABELS",
    "FINE_LABEL_IDS",
    "InvalidLayout",
    "InvalidMask",
    "Layout",
    "LayoutClass",
    "UnknownLayout",
    "atlas_layout",
    "class_of_fine_label",
    "color_png_from_labels",
    "colors_from_labels",
    "extend_layout",
    "get_layout",
    "indexed_png_from_labels",
    "labels_at_resolution",
    "labels_from_colors",
    "labels_from_fine",
    "labels_from_png",
    "layout_from_json",
    "layout_to_json",
    "majority_downsample",
]
