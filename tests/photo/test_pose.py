"""The landmark camera fit: exact on projected template landmarks, close on a render; the
template is what the detector measures on synthface."""

import math

import torch

from ffedit.camera import named_camera
from ffedit.photo.mtcnn import detect_faces
from ffedit.photo.pose import (
    MEAN_FACE_LANDMARKS,
    PoseFit,
    _placed,
    fit_pose,
    lifted_landmarks,
    projected_landmarks,
)
from ffedit.synthface import face_from_latent, latent_from_seed, render_face

PHOTO_YAW, PHOTO_PITCH = math.pi / 2 + 0.3, math.pi / 2 - 0.1


def test_fit_recovers_the_camera_and_crop_of_projected_template_landmarks():
    yaw, pitch = math.pi / 2 - 0.25, math.pi / 2 + 0.08
    uv = projected_landmarks(torch.tensor(yaw), torch.tensor(pitch))
    crop = torch.tensor([310.0, 240.0, math.log(400.0), 0.1])
    landmarks = _placed(crop, uv) - 0.5  # pixel centres at integers
    fit = fit_pose(landmarks)
    assert abs(fit.yaw - yaw) < 0.02 and abs(fit.pitch - pitch) < 0.03
    assert abs(fit.side - 400) < 6 and abs(fit.roll - 0.1) < 0.01
    assert abs(fit.centre[0] - 310) < 3 and abs(fit.centre[1] - 240) < 3
    assert fit.error < 1e-3


def test_fit_on_a_detected_render_is_near_its_camera(mtcnn, turned_photo):
    fit = fit_pose(detect_faces(mtcnn, turned_photo).landmarks[0])
    assert isinstance(fit, PoseFit)
    assert abs(math.degrees(fit.yaw - PHOTO_YAW)) < 6
    assert abs(math.degrees(fit.pitch - PHOTO_PITCH)) < 15
    assert abs(fit.side - 256) < 40


def test_the_template_is_what_the_detector_measures_on_synthface_front_views(mtcnn):
    camera = named_camera("front")
    lifted = []
    for seed in range(1000, 1004):
        render = render_face(face_from_latent(latent_from_seed(seed)[None]), camera[None], 256)
        photo = ((render.rgb[0] + 1) * 127.5).clamp(0, 255)
        landmarks = detect_faces(mtcnn, photo).landmarks[0]
        lifted.append(lifted_landmarks(landmarks, render.depth[0, 0], camera))
    assert (torch.stack(lifted).mean(0) - MEAN_FACE_LANDMARKS).abs().max() < 0.015
