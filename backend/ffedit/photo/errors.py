"""Domain errors of bringing a photo in; the API maps each to one HTTP status (422)."""

from __future__ import annotations


class PhotoError(ValueError):
    """The photo cannot be inverted; the message says why and what to do."""


class NoFaceFound(PhotoError):
    def __init__(self) -> None:
        super().__init__(
            "no face was found in the photo: use a photo with one face seen from the front "
            "or slightly turned, well lit, at least 64 pixels wide"
        )


class SeveralFaces(PhotoError):
    def __init__(self, count: int) -> None:
        super().__init__(
            f"the photo shows {count} faces of similar size: crop it to the one face to edit"
        )


class FaceTooSmall(PhotoError):
    def __init__(self, width: float, minimum: int) -> None:
        super().__init__(
            f"the face is {width:.0f} pixels wide; at least {minimum} are needed: use a larger "
            "or closer photo"
        )
