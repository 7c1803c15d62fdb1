"""The cameras a request may ask for: a named view, or yaw/pitch relative to the front view.

Positive yaw turns toward the face's left (as `left` does negatively); angles are radians,
at most `MAX_ANGLE` from the front view. A training sample stores its view as `to_dict`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ffedit.camera import NAMED_VIEWS, camera_from_angles
from ffedit.service.errors import InvalidRequest

MAX_ANGLE = math.pi / 2
"""Largest |yaw| or |pitch| (radians from the front view) a view may ask for."""
FRONT_ANGLES = NAMED_VIEWS["front"]
"""The front view's (yaw, pitch) on the camera's sphere: a ViewSpec's angles are from it."""


def named_view_angles() -> dict[str, dict[str, float]]:
    """Each named view's {"yaw", "pitch"} in radians from the front view, as a ViewSpec of
    angles would give that camera."""
    return {
        name: {"yaw": yaw - FRONT_ANGLES[0], "pitch": pitch - FRONT_ANGLES[1]}
        for name, (yaw, pitch) in NAMED_VIEWS.items()
    }


@dataclass(frozen=True)
class ViewSpec:
    """A camera: a named view, or yaw/pitch (radians) relative to the front view."""

    name: str | None = None
    yaw: float = 0.0
    pitch: float = 0.0

    def __post_init__(self) -> None:
        if self.name is not None and self.name not in NAMED_VIEWS:
            raise InvalidRequest(
                f"unknown view {self.name!r}; known views: {', '.join(NAMED_VIEWS)}"
            )
        for axis in ("yaw", "pitch"):
            value = getattr(self, axis)
            if not math.isfinite(value) or abs(value) > MAX_ANGLE:
                raise InvalidRequest(
                    f"{axis} must be a number of radians in [−π/2, π/2], got {value}"
                )

    def camera(self) -> torch.Tensor:
        """(25,) camera vector."""
        if self.name is not None:
            yaw, pitch = NAMED_VIEWS[self.name]
        else:
            yaw, pitch = FRONT_ANGLES[0] + self.yaw, FRONT_ANGLES[1] + self.pitch
        return camera_from_angles(yaw, pitch)

    def to_dict(self) -> dict:
        """How a sample stores it: {"name": "front"} or {"yaw": …, "pitch": …}."""
        return {"name": self.name} if self.name else {"yaw": self.yaw, "pitch": self.pitch}

    @classmethod
    def from_dict(cls, data: dict) -> ViewSpec:
        if data.get("name"):
            return cls(name=data["name"])
        return cls(yaw=float(data.get("yaw", 0.0)), pitch=float(data.get("pitch", 0.0)))
