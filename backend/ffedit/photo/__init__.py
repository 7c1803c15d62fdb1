"""A photo brought into the generator's frame: face detection, camera estimate, crop.

- `mtcnn`: the MTCNN cascade (boxes and five landmarks); weights via `ffedit.io.detector`.
- `pose`: `fit_pose`: yaw, pitch and the photo square the generator's camera frames.
- `align`: `aligned_crop`: that square resampled to the generator's resolution.
- `errors`: no face, several faces, a face too small.

`align_photo` runs the three in order and checks what a user can get wrong.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ffedit.photo.align import aligned_crop
from ffedit.photo.errors import FaceTooSmall, NoFaceFound, PhotoError, SeveralFaces
from ffedit.photo.mtcnn import Detections, Mtcnn, detect_faces
from ffedit.photo.pose import PoseFit, fit_pose

MIN_FACE_WIDTH = 48
"""Face box width (photo pixels) below which a photo is refused: too little detail."""
RIVAL_FACE_SHARE = 0.5
"""A second face counts when its box is at least this share of the largest one's width."""


class AlignedPhoto(NamedTuple):
    """A detected face, its camera estimate and its aligned crop."""

    crop: torch.Tensor
    """(3, S, S) in [−1, 1]."""
    fit: PoseFit
    box: tuple[float, float, float, float]
    """x0, y0, x1, y1 photo pixels of the detected face."""
    landmarks: list[tuple[float, float]]
    """The five detected landmarks (x, y photo pixels)."""


def chosen_face(detections: Detections) -> int:
    """Index of the one face to invert; raises if there is none or several."""
    if not len(detections.scores):
        raise NoFaceFound()
    widths = detections.boxes[:, 2] - detections.boxes[:, 0]
    rivals = int((widths >= RIVAL_FACE_SHARE * widths.max()).sum())
    if rivals > 1:
        raise SeveralFaces(rivals)
    index = int(widths.argmax())
    if float(widths[index]) < MIN_FACE_WIDTH:
        raise FaceTooSmall(float(widths[index]), MIN_FACE_WIDTH)
    return index


def align_photo(mtcnn: Mtcnn, photo: torch.Tensor, resolution: int) -> AlignedPhoto:
    """Detect the face in photo (3, H, W) uint8 RGB, fit the camera, crop to resolution²."""
    detections = detect_faces(mtcnn, photo)
    index = chosen_face(detections)
    landmarks = detections.landmarks[index]
    fit = fit_pose(landmarks)
    crop = aligned_crop(photo.float() / 127.5 - 1, fit, resolution).clamp(-1, 1)
    return AlignedPhoto(
        crop=crop,
        fit=fit,
        box=tuple(float(v) for v in detections.boxes[index]),
        landmarks=[(float(x), float(y)) for x, y in landmarks],
    )


__all__ = [
    "AlignedPhoto",
    "FaceTooSmall",
    "NoFaceFound",
    "PhotoError",
    "PoseFit",
    "SeveralFaces",
    "align_photo",
    "aligned_crop",
    "fit_pose",
]
