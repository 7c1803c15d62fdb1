"""Rays through pixel centres, row-major, OpenCV axes."""

import torch

from ffedit.camera import named_camera, unpack_cameras
from ffedit.render import project_points, rays_from_cameras


def test_centre_pixel_of_front_view_points_at_minus_z():
    cam2world, intrinsics = unpack_cameras(named_camera("front"))
    origins, directions = rays_from_cameras(cam2world, intrinsics, 5)
    assert origins.shape == directions.shape == (1, 25, 3)
    assert torch.allclose(directions[0, 12], torch.tensor([0.0, 0.0, -1.0]), atol=1e-6)
    assert torch.allclose(origins[0], torch.tensor([0.0, 0.0, 2.7]).expand(25, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.norm(directions, dim=-1), torch.ones(1, 25))


def test_rows_go_down_and_columns_go_right_in_the_world():
    cam2world, intrinsics = unpack_cameras(named_camera("front"))
    _, directions = rays_from_cameras(cam2world, intrinsics, 4)
    grid = directions[0].reshape(4, 4, 3)
    assert grid[0, 0, 1] > 0 and grid[3, 0, 1] < 0  # top row looks up (+y)
    assert grid[0, 0, 0] < 0 and grid[0, 3, 0] > 0  # left column looks toward -x


def test_pixel_centre_directions_follow_the_intrinsics():
    cam2world, intrinsics = unpack_cameras(named_camera("front"))
    resolution = 8
    _, directions = rays_from_cameras(cam2world, intrinsics, resolution)
    focal = intrinsics[0, 0, 0]
    column, row = 6, 1
    u, v = (column + 0.5) / resolution, (row + 0.5) / resolution
    expected = torch.tensor([(u - 0.5) / focal, -(v - 0.5) / focal, -1.0])
    expected = expected / torch.linalg.norm(expected)
    assert torch.allclose(directions[0, row * resolution + column], expected, atol=1e-6)


def test_projecting_points_on_camera_rays_gives_their_pixels():
    cam2world, intrinsics = unpack_cameras(named_camera("left")[None])
    origins, directions = rays_from_cameras(cam2world, intrinsics, 16)
    pixels = torch.tensor([0, 17, 130, 255])
    points = origins[0, pixels] + 2.4 * directions[0, pixels]
    projected, in_front = project_points(points, cam2world[0], intrinsics[0], 16)
    expected = torch.stack([pixels // 16, pixels % 16], -1).float()
    assert torch.allclose(projected, expected, atol=1e-3) and in_front.all()
    _, in_front = project_points(
        origins[0, :1] - directions[0, :1], cam2world[0], intrinsics[0], 16
    )
    assert not in_front.any()
