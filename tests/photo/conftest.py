"""Fixtures of the photo tests: the shipped MTCNN weights and a synthface "photo"."""

import math

import pytest
import torch

from ffedit.camera import camera_from_angles
from ffedit.io.detector import load_mtcnn
from ffedit.photo.mtcnn import Mtcnn
from ffedit.synthface import face_from_latent, latent_from_seed, render_face

PHOTO_YAW = math.pi / 2 + 0.3
PHOTO_PITCH = math.pi / 2 - 0.1


@pytest.fixture(scope="session")
def mtcnn() -> Mtcnn:
    return load_mtcnn()


def uint8_photo(rgb: torch.Tensor) -> torch.Tensor:
    """(3, H, W) uint8 of an image in [−1, 1]."""
    return ((rgb + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="session")
def turned_photo() -> torch.Tensor:
    """(3, 256, 256) uint8: synthface face 3 turned by 0.3 rad, looked at from 0.1 rad above."""
    face = face_from_latent(latent_from_seed(3)[None])
    camera = camera_from_angles(PHOTO_YAW, PHOTO_PITCH)
    return uint8_photo(render_face(face, camera[None], 256).rgb[0])
