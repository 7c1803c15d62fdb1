"""Camera and crop of a photo from five landmarks: a fit of the mean face's 3D landmarks.

The generator's training views are look-at cameras on a sphere (radius 2.7, pivot
(0, 0, 0.2), FFHQ intrinsics f = 4.2634, centre 0.5): the crop a photo needs is the image of
such a camera's frame. `fit_pose` finds yaw and pitch of that camera, and the square of the
photo it frames (centre, side, roll), so that the template's five 3D landmarks, projected
through the camera and placed in that square, land on the detected ones (least squares,
like `cv2.solvePnP` with fixed intrinsics, but restricted to the cameras the generator
knows). The square is the crop (FFHQ/EG3D-style: defined by the landmarks); yaw and pitch
start the inversion's camera.

`MEAN_FACE_LANDMARKS` is measured, not guessed: the detector's landmarks on front views of
synthface faces, lifted to 3D with the exact depth (`lifted_landmarks`), averaged
(tests/photo/test_pose.py re-measures it).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from ffedit.camera import cameras_from_angles, unpack_cameras
from ffedit.render.rays import rays_from_cameras

MEAN_FACE_LANDMARKS = torch.tensor(
    [
        [-0.0608, 0.0198, 0.2750],
        [0.0657, 0.0203, 0.2744],
        [0.0030, -0.0562, 0.3253],
        [-0.0509, -0.1191, 0.2514],
        [0.0555, -0.1174, 0.2474],
    ]
)
"""(5, 3) world positions of: the eye seen left, the eye seen right, nose tip, mouth corners
(left, right), as the detector places them on synthface's front views (seeds 1000..1019)."""

FRONT = math.pi / 2
YAW_STARTS = (-0.5, 0.0, 0.5)
"""Yaw offsets (radians from the front) the fit starts from; the best fit wins."""
FIT_STEPS = 300


class PoseFit(NamedTuple):
    """Camera angles and the photo square the generator's camera frames."""

    yaw: float
    """Radians, EG3D's convention (π/2 is the front)."""
    pitch: float
    centre: tuple[float, float]
    """(x, y) photo pixels of the crop's centre."""
    side: float
    """Crop side in photo pixels."""
    roll: float
    """Radians the crop is turned by (positive: the crop's x axis points down-right)."""
    error: float
    """Root-mean-square landmark distance after the fit, as a share of the side."""


def projected_landmarks(
    yaw: torch.Tensor, pitch: torch.Tensor, points: torch.Tensor = MEAN_FACE_LANDMARKS
) -> torch.Tensor:
    """(N, 2) normalised image coordinates (u, v) of world points (N, 3) seen by the
    generator's camera at yaw, pitch (0-d tensors; differentiable)."""
    cam2world, intrinsics = unpack_cameras(cameras_from_angles(yaw[None], pitch[None]))
    rotation, origin = cam2world[0, :3, :3], cam2world[0, :3, 3]
    local = (points - origin) @ rotation
    focal, centre = intrinsics[0, 0, 0], intrinsics[0, 0, 2]
    return local[:, :2] / local[:, 2:] * focal + centre


def lifted_landmarks(
    pixels: torch.Tensor, depth: torch.Tensor, camera: torch.Tensor
) -> torch.Tensor:
    """World positions (N, 3) of landmarks (N, 2) (x, y pixels) on a render with its depth
    (H, W) (distance along the unit ray) from camera (25,)."""
    resolution = depth.shape[-1]
    origins, directions = rays_from_cameras(*unpack_cameras(camera[None]), resolution)
    index = pixels.round().long().clamp(0, resolution - 1)
    flat = index[:, 1] * resolution + index[:, 0]
    return origins[0, flat] + directions[0, flat] * depth.reshape(-1)[flat, None]


def _placed(params: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Photo pixels (N, 2) of crop coordinates uv (N, 2) under crop params (cx, cy, log side,
    roll)."""
    cx, cy, log_side, roll = params
    cos, sin = torch.cos(roll), torch.sin(roll)
    local = (uv - 0.5) * torch.exp(log_side)
    x = cos * local[:, 0] - sin * local[:, 1] + cx
    y = sin * local[:, 0] + cos * local[:, 1] + cy
    return torch.stack([x, y], -1)


def _landmark_error(params: torch.Tensor, landmarks: torch.Tensor, unit: float) -> torch.Tensor:
    """Mean squared landmark distance / unit² for params (yaw, pitch, cx, cy, log side, roll),
    with cx, cy in units of `unit` pixels."""
    uv = projected_landmarks(params[0], params[1])
    crop = torch.cat([params[2:4] * unit, params[4:]])
    return ((_placed(crop, uv) - landmarks) ** 2).sum(-1).mean() / unit**2


def _fit_from(landmarks: torch.Tensor, yaw_offset: float) -> tuple[float, torch.Tensor]:
    """(squared error, parameters (yaw, pitch, cx, cy, log side, roll)) from one start."""
    front = torch.tensor(FRONT)
    template_uv = projected_landmarks(front, front)
    template_span = (template_uv[3:].mean(0) - template_uv[:2].mean(0)).norm()
    side = float((landmarks[3:].mean(0) - landmarks[:2].mean(0)).norm() / template_span)
    centre = (landmarks.mean(0) - (template_uv.mean(0) - 0.5) * side) / side
    start = [FRONT + yaw_offset, FRONT, float(centre[0]), float(centre[1]), math.log(side), 0.0]
    params = torch.tensor(start, requires_grad=True)
    optimizer = torch.optim.Adam([params], lr=0.02)
    for _ in range(FIT_STEPS):
        optimizer.zero_grad()
        _landmark_error(params, landmarks, side).backward()
        optimizer.step()
    with torch.no_grad():
        error = float(_landmark_error(params, landmarks, side))
    fitted = params.detach().clone()
    fitted[2:4] *= side
    return error, fitted


def fit_pose(landmarks: torch.Tensor) -> PoseFit:
    """Camera and crop (see `PoseFit`) for five landmarks (5, 2) in photo pixels (pixel
    centres at integers), ordered as `MEAN_FACE_LANDMARKS`. The crop's centre is in
    continuous coordinates (pixel edges at integers)."""
    continuous = landmarks.float() + 0.5
    fits = [_fit_from(continuous, offset) for offset in YAW_STARTS]
    error, (yaw, pitch, cx, cy, log_side, roll) = min(fits, key=lambda fit: fit[0])
    return PoseFit(
        yaw=float(yaw),
        pitch=float(pitch),
        centre=(float(cx), float(cy)),
        side=float(torch.exp(log_side)),
        roll=float(roll),
        error=math.sqrt(error),
    )
