"""Domain errors of layouts and masks; the API maps each to one HTTP status."""

from __future__ import annotations


class UnknownLayout(LookupError):
    """A layout name that is neither built in nor registered."""


class InvalidLayout(ValueError):
    """A layout definition that breaks a rule (duplicate names or colours, bad values…)."""


class InvalidMask(ValueError):
    """A mask that does not decode in a layout (unknown colours, class ids out of range…)."""
