"""Domain errors of the service layer; `ffedit.api.errors` maps each to one HTTP status.

The core's own errors (`InvalidMask`, `TooFewSamples`, `UnknownLayout`, the storage's
`NotFound` and `Conflict`, ...) pass through unchanged and are re-exported here, so that the
API maps every error from one import; the classes defined here cover what only the service
knows: requests that do not fit the loaded model or the layout's state.
"""

from __future__ import annotations

from ffedit.adapter import TooFewSamples
from ffedit.io.images import InvalidImage
from ffedit.layouts import InvalidLayout, InvalidMask, UnknownLayout
from ffedit.service.jobs import QueueFull
from ffedit.service.storage import Conflict, NotFound


class InvalidRequest(ValueError):
    """Input the model cannot use (a latent of the wrong size, an unknown view, ...)."""


class NoAdapter(Conflict):
    """The layout has no trained adapter (and no base to predict from) yet."""


class AlreadyTraining(Conflict):
    """A training job of this layout is queued or running."""


class ModelMissing(FileNotFoundError):
    """The model checkpoint named by the settings does not exist."""


__all__ = [
    "AlreadyTraining",
    "Conflict",
    "InvalidImage",
    "InvalidLayout",
    "InvalidMask",
    "InvalidRequest",
    "ModelMissing",
    "NoAdapter",
    "NotFound",
    "QueueFull",
    "TooFewSamples",
    "UnknownLayout",
]
