"""Choosing the one face and cropping it."""

import pytest
import torch

from ffedit.photo import (
    FaceTooSmall,
    NoFaceFound,
    PoseFit,
    SeveralFaces,
    align_photo,
    aligned_crop,
    chosen_face,
)
from ffedit.photo.mtcnn import Detections


def _detections(widths: list[float]) -> Detections:
    boxes = torch.tensor([[10.0 * i, 0.0, 10.0 * i + w, w] for i, w in enumerate(widths)])
    return Detections(boxes, torch.zeros(len(widths), 5, 2), torch.full((len(widths),), 0.99))


def test_the_largest_face_is_chosen_when_the_others_are_much_smaller():
    assert chosen_face(_detections([30.0, 120.0, 50.0])) == 1


def test_no_face_several_faces_and_a_small_face_are_refused_with_what_to_do():
    with pytest.raises(NoFaceFound, match="no face"):
        chosen_face(_detections([]))
    with pytest.raises(SeveralFaces, match="2 faces"):
        chosen_face(_detections([100.0, 90.0]))
    with pytest.raises(FaceTooSmall, match="at least 48"):
        chosen_face(_detections([30.0]))


def test_the_whole_image_square_crops_to_the_image_itself():
    image = torch.rand(3, 16, 16)
    fit = PoseFit(1.57, 1.57, centre=(8.0, 8.0), side=16.0, roll=0.0, error=0.0)
    assert torch.allclose(aligned_crop(image, fit, 16), image, atol=1e-5)


def test_a_shifted_square_crops_the_shifted_pixels():
    image = torch.rand(3, 16, 16)
    fit = PoseFit(1.57, 1.57, centre=(10.0, 8.0), side=8.0, roll=0.0, error=0.0)
    assert torch.allclose(aligned_crop(image, fit, 8), image[:, 4:12, 6:14], atol=1e-5)


def test_a_synthface_photo_crops_about_where_the_camera_framed_it(mtcnn, turned_photo):
    aligned = align_photo(mtcnn, turned_photo, 128)
    assert aligned.crop.shape == (3, 128, 128)
    assert float(aligned.crop.min()) >= -1 and float(aligned.crop.max()) <= 1
    assert abs(aligned.fit.centre[0] - 128) < 20 and abs(aligned.fit.centre[1] - 128) < 20
    assert len(aligned.landmarks) == 5
