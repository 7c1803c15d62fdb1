"""`invert_photo`: a photo (uint8 RGB) to a latent and camera, through detection and crop.

The one pipeline the CLI, the service's job and the ground-truth benchmark share: detect the
face and its five landmarks, fit the generator's camera and crop (`ffedit.photo`), then
invert the crop at the generator's neural rendering resolution (`invert_image`).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ffedit.generator import TriplaneGenerator
from ffedit.invert.optimize import (
    DEFAULT_INVERSION,
    Camera,
    InversionConfig,
    InversionResult,
    StepCallback,
    StopCheck,
    invert_image,
)
from ffedit.photo import AlignedPhoto, align_photo
from ffedit.photo.mtcnn import Mtcnn


class PhotoInversion(NamedTuple):
    """The aligned photo and what its inversion found."""

    aligned: AlignedPhoto
    result: InversionResult


def invert_photo(
    generator: TriplaneGenerator,
    mtcnn: Mtcnn,
    photo: torch.Tensor,
    config: InversionConfig = DEFAULT_INVERSION,
    on_step: StepCallback | None = None,
    should_stop: StopCheck | None = None,
) -> PhotoInversion:
    """Invert photo (3, H, W) uint8 RGB; raises a `PhotoError` when it holds no usable face."""
    aligned = align_photo(mtcnn, photo, generator.config.neural_rendering_resolution)
    start = Camera(aligned.fit.yaw, aligned.fit.pitch)
    result = invert_image(generator, aligned.crop, start, config, on_step, should_stop)
    return PhotoInversion(aligned, result)
