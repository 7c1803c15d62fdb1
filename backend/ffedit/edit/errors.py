"""Domain errors of editing; the API maps each to one HTTP status.

A target mask of the wrong size or with class ids outside the layout is
`ffedit.layouts.InvalidMask`.
"""

from __future__ import annotations


class LpipsWeightsError(ValueError):
    """LPIPS was asked for, but its weights are missing, unreadable or incomplete."""
