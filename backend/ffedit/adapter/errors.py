"""Domain errors of adapter training; the API maps each to one HTTP status.

Masks of the wrong size or with class ids outside the layout are `ffedit.layouts.InvalidMask`.
"""

from __future__ import annotations


class TooFewSamples(ValueError):
    """Fewer annotated samples than training needs."""
