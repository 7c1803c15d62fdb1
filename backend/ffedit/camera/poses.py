"""Look-at poses, FOV→intrinsics and the 25-float camera vector, as EG3D defines them.

A camera vector is `cam2world.reshape(16)` (row-major 4×4, OpenCV axes) followed by the
normalised intrinsics `K.reshape(9)`, K = [[f, 0, 0.5], [0, f, 0.5], [0, 0, 1]].
Yaw and pitch follow EG3D's LookAtPoseSampler: yaw π/2 and pitch π/2 look at the face from
the front (+z); the camera sits on a sphere of radius 2.7 around the origin and looks at
the pivot (0, 0, 0.2) with world up +y.
"""

from __future__ import annotations

import math

import torch

AVG_CAMERA_RADIUS = 2.7
AVG_CAMERA_PIVOT = (0.0, 0.0, 0.2)
FFHQ_FOV_DEGREES = 18.837
_EG3D_PI = 3.14159  # EG3D's FOV_to_intrinsics uses this rounded π

NAMED_VIEWS: dict[str, tuple[float, float]] = {
    "front": (math.pi / 2, math.pi / 2),
    "left": (math.pi / 2 - 0.4, math.pi / 2),
    "right": (math.pi / 2 + 0.4, math.pi / 2),
}
"""Named views as (yaw, pitch) in radians; `left` puts the camera at −x."""


def fov_to_intrinsics(fov_degrees: float = FFHQ_FOV_DEGREES) -> torch.Tensor:
    """Normalised 3×3 intrinsics for a vertical FOV: f = 1/(tan(fov/2)·1.414), centre 0.5."""
    focal = float(1.0 / (math.tan(fov_degrees * _EG3D_PI / 360.0) * 1.414))
    return torch.tensor([[focal, 0.0, 0.5], [0.0, focal, 0.5], [0.0, 0.0, 1.0]])


def _normalize(v: torch.Tensor) -> torch.Tensor:
    return v / torch.linalg.norm(v, dim=-1, keepdim=True)


def look_at_poses(
    yaw: torch.Tensor,
    pitch: torch.Tensor,
    radius: float = AVG_CAMERA_RADIUS,
    pivot: tuple[float, float, float] = AVG_CAMERA_PIVOT,
) -> torch.Tensor:
    """cam2world (B, 4, 4) for yaw, pitch (B,) in radians, looking at `pivot`.

    Position: x = r·sinφ·cos(π−yaw), y = r·cosφ, z = r·sinφ·sin(π−yaw) with
    φ = arccos(1 − 2·pitch/π); pitch is clamped to (1e-5, π−1e-5).
    """
    yaw = torch.as_tensor(yaw, dtype=torch.float32).reshape(-1)
    pitch = torch.as_tensor(pitch, dtype=torch.float32).reshape(-1)
    pitch = pitch.clamp(1e-5, math.pi - 1e-5)
    phi = torch.arccos(1 - 2 * (pitch / math.pi))
    origins = torch.stack(
        [
            radius * torch.sin(phi) * torch.cos(math.pi - yaw),
            radius * torch.cos(phi),
            radius * torch.sin(phi) * torch.sin(math.pi - yaw),
        ],
        dim=-1,
    )
    target = torch.tensor(pivot, dtype=torch.float32).expand_as(origins)
    forward = _normalize(target - origins)
    world_up = torch.tensor([0.0, 1.0, 0.0]).expand_as(forward)
    right = -_normalize(torch.linalg.cross(world_up, forward, dim=-1))
    up = _normalize(torch.linalg.cross(forward, right, dim=-1))
    cam2world = torch.eye(4).repeat(len(origins), 1, 1)
    cam2world[:, :3, :3] = torch.stack([right, up, forward], dim=-1)
    cam2world[:, :3, 3] = origins
    return cam2world


def pack_cameras(cam2world: torch.Tensor, intrinsics: torch.Tensor) -> torch.Tensor:
    """(B, 4, 4) cam2world and (B, 3, 3) or (3, 3) intrinsics → (B, 25) camera vectors."""
    intrinsics = intrinsics.expand(len(cam2world), 3, 3)
    return torch.cat([cam2world.reshape(-1, 16), intrinsics.reshape(-1, 9)], dim=1)


def unpack_cameras(cameras: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 25) camera vectors → cam2world (B, 4, 4), intrinsics (B, 3, 3)."""
    if cameras.shape[-1] != 25:
        raise ValueError(f"camera vectors have 25 values, got shape {tuple(cameras.shape)}")
    cameras = cameras.reshape(-1, 25)
    return cameras[:, :16].reshape(-1, 4, 4), cameras[:, 16:].reshape(-1, 3, 3)


def cameras_from_angles(
    yaw: torch.Tensor, pitch: torch.Tensor, fov_degrees: float = FFHQ_FOV_DEGREES
) -> torch.Tensor:
    """(B, 25) camera vectors for yaw, pitch (B,) with the FFHQ radius, pivot and FOV."""
    return pack_cameras(look_at_poses(yaw, pitch), fov_to_intrinsics(fov_degrees))


def camera_from_angles(yaw: float, pitch: float) -> torch.Tensor:
    """One (25,) camera vector."""
    return cameras_from_angles(torch.tensor([yaw]), torch.tensor([pitch]))[0]


def named_camera(name: str) -> torch.Tensor:
    """The (25,) camera vector of a named view (`front`, `left`, `right`)."""
    if name not in NAMED_VIEWS:
        raise KeyError(f"unknown view {name!r}; known views: {', '.join(NAMED_VIEWS)}")
    return camera_from_angles(*NAMED_VIEWS[name])


def orbit_angles(
    num_frames: int = 150,
    yaw_range: float = math.radians(12),
    pitch_range: float = math.radians(15),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Yaw and pitch (F,) of NeRFFaceEditing's orbit: yaw π/2 + a·sinθ, pitch π/2 − b·cosθ."""
    theta = torch.arange(num_frames, dtype=torch.float32) * (2 * math.pi / num_frames)
    return math.pi / 2 + yaw_range * torch.sin(theta), math.pi / 2 - pitch_range * torch.cos(theta)


def orbit_cameras(num_frames: int = 150) -> torch.Tensor:
    """(F, 25) camera vectors along the orbit, one closed loop."""
    return cameras_from_angles(*orbit_angles(num_frames))


def turned_camera(
    camera: torch.Tensor, yaw: float, pivot: tuple[float, float, float] = AVG_CAMERA_PIVOT
) -> torch.Tensor:
    """The (25,) camera vector `camera` (25,) turned by `yaw` radians around the world's up
    axis through `pivot`, still looking at it: as `camera_from_angles` with yaw + `yaw` (for
    the front camera, 0.4 is about the `right` view; it orbits the pivot, not the origin)."""
    cam2world, intrinsics = unpack_cameras(camera.reshape(1, 25))
    cosine, sine = math.cos(yaw), -math.sin(yaw)
    rotation = torch.eye(4, dtype=cam2world.dtype)
    rotation[0, 0], rotation[0, 2], rotation[2, 0], rotation[2, 2] = cosine, -sine, sine, cosine
    shift = torch.eye(4, dtype=cam2world.dtype)
    shift[:3, 3] = torch.tensor(pivot, dtype=cam2world.dtype)
    back = torch.eye(4, dtype=cam2world.dtype)
    back[:3, 3] = -torch.tensor(pivot, dtype=cam2world.dtype)
    return pack_cameras(shift @ rotation @ back @ cam2world, intrinsics)[0]
