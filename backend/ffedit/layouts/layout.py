"""Layouts as data: a named list of classes, each with a name, an RGB colour and fine labels.

A layout's class id is its position in `classes`; class 0 is the background and the only
class that may be black. Each class covers a set of synthface fine labels (see `atlas`); a
class listed later takes the fine labels (and so the pixels) of an earlier class covering
the same ones, which is how `base17` cuts the nasal alae out of `nose`. A class may cover no
fine label at all: user-defined classes on a real (non-synthface) model have no fine-label
ground truth. Fine labels that no class covers map to the background.

Built-in layouts are NeRFFaceEditing's `base15` and FFaceNeRF's `base17`, `eyes19`,
`nose19`, `chin20`, with the reference colours so their PNG masks decode. User layouts
extend a base layout with new classes (`extend_layout`) and travel as JSON
(`layout_to_json` / `layout_from_json`).
"""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ffedit.layouts.atlas import FINE_LABEL_IDS, FINE_LABELS
from ffedit.layouts.errors import InvalidLayout, UnknownLayout

Color = tuple[int, int, int]
MAX_CLASSES = 256
"""Indexed PNGs hold at most 256 palette entries."""
COLOR_TOLERANCE = 1
"""RGB masks decode colours within ±1 per channel (anti-aliasing-free paint tools differ by 1)."""
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\- ]{0,47}$")


@dataclass(frozen=True)
class LayoutClass:
    """One class of a layout."""

    name: str
    """Unique within its layout: letters, digits, `_`, `-`, space; at most 48 characters."""
    color: Color
    """RGB colour of the class in colour-coded masks, 0–255 per channel."""
    fine_labels: tuple[str, ...] = ()
    """Synthface fine labels the class covers (may be empty: no synthface ground truth)."""


@dataclass(frozen=True)
class Layout:
    """A named list of classes; class id = position. Validated on construction."""

    name: str
    """Unique layout name."""
    classes: tuple[LayoutClass, ...]
    """Class 0 is the background."""
    base: str | None = None
    """Name of the layout this one extends (its classes are a prefix of these), if any."""

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(layout_class.name for layout_class in self.classes)

    @property
    def colors(self) -> np.ndarray:
        """(L, 3) uint8 class colours."""
        return np.array([layout_class.color for layout_class in self.classes], dtype=np.uint8)

    def class_id(self, name: str) -> int:
        """The id of the class called `name`."""
        try:
            return self.class_names.index(name)
        except ValueError:
            known = ", ".join(self.class_names)
            raise InvalidLayout(
                f"layout {self.name!r} has no class {name!r}; classes: {known}"
            ) from None


def _validate(layout: Layout) -> None:
    where = f"layout {layout.name!r}"
    if not isinstance(layout.name, str) or not _NAME_PATTERN.match(layout.name):
        raise InvalidLayout(f"invalid layout name {layout.name!r}")
    if not 2 <= len(layout.classes) <= MAX_CLASSES:
        raise InvalidLayout(f"{where} needs 2 to {MAX_CLASSES} classes, has {len(layout.classes)}")
    names = [layout_class.name for layout_class in layout.classes]
    for index, layout_class in enumerate(layout.classes):
        _validate_class(where, index, layout_class)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidLayout(f"{where}: duplicate class names {duplicates}")
    colors = np.array([layout_class.color for layout_class in layout.classes], dtype=np.int64)
    black = [names[i] for i in range(1, len(names)) if not colors[i].any()]
    if black:
        raise InvalidLayout(f"{where}: only the background (class 0) may be black, not {black}")
    close = np.abs(colors[:, None, :] - colors[None, :, :]).max(-1) <= 2 * COLOR_TOLERANCE
    first, second = np.nonzero(np.triu(close, k=1))
    if len(first):
        pairs = [f"{names[a]!r} and {names[b]!r}" for a, b in zip(first, second, strict=True)]
        raise InvalidLayout(
            f"{where}: colours must differ by more than {2 * COLOR_TOLERANCE} in some channel; "
            f"too close: {'; '.join(pairs)}"
        )


def _validate_class(where: str, index: int, layout_class: LayoutClass) -> None:
    if not isinstance(layout_class.name, str) or not _NAME_PATTERN.match(layout_class.name):
        raise InvalidLayout(f"{where}: invalid class name {layout_class.name!r} (class {index})")
    color = layout_class.color
    if (
        not isinstance(color, tuple)
        or len(color) != 3
        or not all(isinstance(c, int) and 0 <= c <= 255 for c in color)
    ):
        raise InvalidLayout(
            f"{where}: class {layout_class.name!r} colour must be 3 integers 0–255, got {color!r}"
        )
    unknown = [label for label in layout_class.fine_labels if label not in FINE_LABEL_IDS]
    if unknown:
        raise InvalidLayout(
            f"{where}: class {layout_class.name!r} covers unknown fine labels {unknown}"
        )
    if len(set(layout_class.fine_labels)) != len(layout_class.fine_labels):
        raise InvalidLayout(f"{where}: class {layout_class.name!r} lists a fine label twice")


def extend_layout(base: Layout, name: str, new_classes: tuple[LayoutClass, ...]) -> Layout:
    """A layout named `name`: the classes of `base` followed by `new_classes`."""
    return Layout(name=name, classes=base.classes + tuple(new_classes), base=base.name)


def _builtin(name: str, base: Layout | None, classes: list[tuple[str, Color, tuple[str, ...]]]):
    new = tuple(LayoutClass(n, c, f) for n, c, f in classes)
    return Layout(name, new) if base is None else extend_layout(base, name, new)


BASE_LAYOUT = "base15"
"""The layout of a generator's own segmentation logits (every other layout extends it)."""

BASE15 = _builtin(
    BASE_LAYOUT,
    None,
    [
        ("background", (0, 0, 0), ("background",)),
        ("skin", (127, 212, 255), ("skin_face", "skin_jaw", "skin_chin", "eyelid")),
        ("brow", (255, 212, 255), ("brow",)),
        ("eye", (255, 255, 170), ("sclera", "iris", "pupil")),
        ("glasses", (255, 255, 130), ("glasses",)),
        ("ear", (76, 153, 0), ("ear",)),
        ("earring", (0, 255, 170), ("earring",)),
        ("nose", (244, 124, 244), ("nose_ridge", "nose_tip", "nasal_ala", "nostril")),
        ("mouth", (30, 162, 230), ("mouth_inner", "teeth")),
        ("lip", (127, 255, 255), ("upper_lip", "lower_lip")),
        ("neck", (127, 170, 255), ("neck",)),
        ("necklace", (85, 0, 255), ("necklace",)),
        ("cloth", (255, 170, 127), ("cloth",)),
        ("hair", (212, 127, 255), ("hair",)),
        ("hat", (0, 170, 255), ("hat",)),
    ],
)
BASE17 = _builtin(
    "base17",
    BASE15,
    [("nasal_ala", (255, 255, 255), ("nasal_ala",)), ("iris", (0, 0, 100), ("iris", "pupil"))],
)
EYES19 = _builtin(
    "eyes19",
    BASE17,
    [("pupil", (127, 127, 127), ("pupil",)), ("eyelid", (163, 73, 164), ("eyelid",))],
)
NOSE19 = _builtin(
    "nose19",
    BASE17,
    [("nose_ridge", (181, 230, 29), ("nose_ridge",)), ("nostril", (136, 0, 21), ("nostril",))],
)
CHIN20 = _builtin(
    "chin20",
    BASE17,
    [
        ("jaw", (0, 200, 120), ("skin_jaw",)),
        ("chin", (10, 10, 160), ("skin_chin",)),
        ("teeth", (250, 250, 200), ("teeth",)),
    ],
)

BUILTIN_LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (BASE15, BASE17, EYES19, NOSE19, CHIN20)
}
"""The built-in layouts by name."""


def get_layout(name: str) -> Layout:
    """A built-in layout by name; `UnknownLayout` lists the known names otherwise."""
    try:
        return BUILTIN_LAYOUTS[name]
    except KeyError:
        raise UnknownLayout(
            f"unknown layout {name!r}; built-in layouts: {', '.join(BUILTIN_LAYOUTS)}"
        ) from None


def atlas_layout() -> Layout:
    """A layout with one class per fine label (class id = fine id): fine-label masks as PNGs.

    Not a built-in: no generator predicts it. Colours are fixed, spread around the hue
    circle (golden-angle steps) at alternating brightness.
    """
    classes = [LayoutClass("background", (0, 0, 0), ("background",))]
    for index, name in enumerate(FINE_LABELS[1:]):
        hue = (index * 0.618034) % 1.0
        value = 1.0 if index % 2 == 0 else 0.7
        rgb = colorsys.hsv_to_rgb(hue, 0.55 + 0.15 * (index % 3), value)
        classes.append(LayoutClass(name, tuple(round(255 * c) for c in rgb), (name,)))
    return Layout("atlas", tuple(classes))


def class_of_fine_label(layout: Layout) -> np.ndarray:
    """(number of fine labels,) int64: the class id each fine label falls into.

    The last class covering a fine label wins; uncovered fine labels map to class 0.
    """
    table = np.zeros(len(FINE_LABELS), dtype=np.int64)
    for class_id, layout_class in enumerate(layout.classes):
        for label in layout_class.fine_labels:
            table[FINE_LABEL_IDS[label]] = class_id
    return table


def labels_from_fine(fine_labels: torch.Tensor, layout: Layout) -> torch.Tensor:
    """Class ids (any shape, int64) of a fine-label map (same shape, integer fine ids)."""
    table = torch.from_numpy(class_of_fine_label(layout)).to(fine_labels.device)
    return table[fine_labels.long()]


def layout_to_json(layout: Layout) -> dict[str, Any]:
    """A JSON-ready dict: name, base and every class with its colour and fine labels."""
    return {
        "name": layout.name,
        "base": layout.base,
        "classes": [
            {"name": c.name, "color": list(c.color), "fine_labels": list(c.fine_labels)}
            for c in layout.classes
        ],
    }


def layout_from_json(data: Any) -> Layout:
    """Rebuild and validate a layout from `layout_to_json` output.

    When `base` names a built-in layout, its classes must be the new layout's first classes.
    """
    try:
        name = data["name"]
        base = data.get("base")
        classes = tuple(
            LayoutClass(
                name=entry["name"],
                color=tuple(entry["color"]),
                fine_labels=tuple(entry.get("fine_labels", ())),
            )
            for entry in data["classes"]
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise InvalidLayout(f"malformed layout JSON: {error!r}") from error
    layout = Layout(name=name, classes=classes, base=base)
    if base in BUILTIN_LAYOUTS:
        prefix = BUILTIN_LAYOUTS[base].classes
        if layout.classes[: len(prefix)] != prefix:
            raise InvalidLayout(
                f"layout {name!r} says it extends {base!r} but does not start with its classes"
            )
    return layout
