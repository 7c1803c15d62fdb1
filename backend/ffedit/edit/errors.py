"""Domain errors of editing; the API maps each to one HTTP status.

A target mask of the wrong size or with class ids outside the layout is
`ffedit.layouts.InvalidMask`.
"""

from __future__ import annotations

from ffedit.layouts import InvalidMask


class LpipsWeightsError(ValueError):
    """LPIPS was asked for, but its weights are missing, unreadable or incomplete."""


class NothingToEdit(InvalidMask):
    """The target mask equals the face's predicted mask at the edit view: there is nothing
    to move toward (an edit would only drift)."""

    def __init__(self) -> None:
        super().__init__(
            "the target mask is the face's current mask at this view: paint the change you "
            "want (a class over the pixels it should cover) before editing"
        )
