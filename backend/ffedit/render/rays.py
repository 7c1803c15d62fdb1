"""Camera rays through pixel centres (EG3D's RaySampler).

Pixel (row i, column j) of an H×W image has normalised coordinates
u = (j + 0.5)/W, v = (i + 0.5)/H; rays are listed row-major (index i·W + j).
"""

from __future__ import annotations

import torch


def rays_from_cameras(
    cam2world: torch.Tensor, intrinsics: torch.Tensor, resolution: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ray origins and unit directions (B, R, 3), R = resolution², in world space.

    cam2world (B, 4, 4) uses OpenCV axes; intrinsics (B, 3, 3) are normalised (skew allowed).
    """
    batch = cam2world.shape[0]
    device, dtype = cam2world.device, cam2world.dtype
    steps = torch.arange(resolution, dtype=torch.float32, device=device)
    rows, cols = torch.meshgrid(steps, steps, indexing="ij")
    u = (cols * (1.0 / resolution) + 0.5 / resolution).reshape(1, -1).to(dtype)
    v = (rows * (1.0 / resolution) + 0.5 / resolution).reshape(1, -1).to(dtype)
    fx, fy = intrinsics[:, 0, 0, None], intrinsics[:, 1, 1, None]
    cx, cy = intrinsics[:, 0, 2, None], intrinsics[:, 1, 2, None]
    skew = intrinsics[:, 0, 1, None]
    z = torch.ones(batch, resolution * resolution, device=device, dtype=dtype)
    x_lift = (u - cx + cy * skew / fy - skew * v / fy) / fx * z
    y_lift = (v - cy) / fy * z
    cam_points = torch.stack([x_lift, y_lift, z, torch.ones_like(z)], dim=-1)
    world_points = torch.bmm(cam2world, cam_points.permute(0, 2, 1)).permute(0, 2, 1)[..., :3]
    origins = cam2world[:, :3, 3]
    directions = torch.nn.functional.normalize(world_points - origins[:, None, :], dim=2)
    return origins[:, None, :].expand_as(directions).contiguous(), directions


def project_points(
    points: torch.Tensor, cam2world: torch.Tensor, intrinsics: torch.Tensor, resolution: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel coordinates (P, 2) as (row, column), fractional, of world points (P, 3) seen by
    one camera (cam2world (4, 4), OpenCV axes; normalised intrinsics (3, 3), no skew), and
    (P,) bool whether each lies in front of it: the inverse of `rays_from_cameras`."""
    homogeneous = torch.cat([points, torch.ones_like(points[:, :1])], dim=-1)
    camera_points = (torch.linalg.inv(cam2world) @ homogeneous.T).T[:, :3]
    depth = camera_points[:, 2]
    safe = depth.clamp_min(1e-6)
    u = intrinsics[0, 0] * camera_points[:, 0] / safe + intrinsics[0, 2]
    v = intrinsics[1, 1] * camera_points[:, 1] / safe + intrinsics[1, 2]
    pixels = torch.stack([v * resolution - 0.5, u * resolution - 0.5], dim=-1)
    return pixels, depth > 1e-6
