"""EG3D camera conventions: poses, intrinsics, the 25-float vector, named views, orbits."""

import math

import pytest
import torch

from ffedit.camera import (
    NAMED_VIEWS,
    cameras_from_angles,
    fov_to_intrinsics,
    look_at_poses,
    named_camera,
    orbit_angles,
    orbit_cameras,
    pack_cameras,
    unpack_cameras,
)


def test_ffhq_focal_length_matches_eg3d():
    intrinsics = fov_to_intrinsics()
    assert intrinsics[0, 0].item() == pytest.approx(4.263391, abs=1e-5)
    assert intrinsics[1, 1] == intrinsics[0, 0]
    assert intrinsics[0, 2].item() == 0.5 and intrinsics[1, 2].item() == 0.5


def test_front_view_is_opencv_looking_down_minus_z():
    cam2world, _ = unpack_cameras(named_camera("front"))
    rotation, position = cam2world[0, :3, :3], cam2world[0, :3, 3]
    assert torch.allclose(rotation, torch.diag(torch.tensor([1.0, -1.0, -1.0])), atol=1e-6)
    assert torch.allclose(position, torch.tensor([0.0, 0.0, 2.7]), atol=1e-5)


def test_left_view_matches_the_shipped_ffacenerf_camera():
    # c_left.pt (float16-quantised in the reference): position (-1.0518, 0, 2.4863).
    cam2world, _ = unpack_cameras(named_camera("left"))
    assert torch.allclose(cam2world[0, :3, 3], torch.tensor([-1.0518, 0.0, 2.4863]), atol=1e-3)
    assert torch.allclose(cam2world[0, 0, :3], torch.tensor([0.90869, 0.0, 0.41772]), atol=1e-3)
    assert torch.allclose(cam2world[0, 2, :3], torch.tensor([0.41772, 0.0, -0.90869]), atol=1e-3)


def test_right_view_mirrors_left():
    left, _ = unpack_cameras(named_camera("left"))
    right, _ = unpack_cameras(named_camera("right"))
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))
    assert torch.allclose(right[0, :3, 3], mirror @ left[0, :3, 3], atol=1e-6)
    assert torch.allclose(right[0, :3, :3], mirror @ left[0, :3, :3] @ mirror, atol=1e-6)


@pytest.mark.parametrize("yaw,pitch", [(1.2, 1.4), (2.0, 1.7), (math.pi / 2, 0.9)])
def test_poses_look_at_the_pivot_from_radius_2_7(yaw, pitch):
    cam2world = look_at_poses(torch.tensor([yaw]), torch.tensor([pitch]))[0]
    position, forward = cam2world[:3, 3], cam2world[:3, 2]
    assert torch.linalg.norm(position).item() == pytest.approx(2.7, abs=1e-5)
    to_pivot = torch.tensor([0.0, 0.0, 0.2]) - position
    assert torch.allclose(forward, to_pivot / torch.linalg.norm(to_pivot), atol=1e-6)
    rotation = cam2world[:3, :3]
    assert torch.allclose(rotation.T @ rotation, torch.eye(3), atol=1e-5)
    assert torch.linalg.det(rotation).item() == pytest.approx(1.0, abs=1e-5)
    assert cam2world[:3, 1] @ torch.tensor([0.0, 1.0, 0.0]) < 0  # image y points down


def test_higher_pitch_moves_the_camera_down():
    low, high = look_at_poses(torch.tensor([math.pi / 2] * 2), torch.tensor([1.3, 1.8]))
    assert high[1, 3] < low[1, 3]


def test_pack_unpack_round_trip():
    cameras = cameras_from_angles(torch.tensor([1.0, 1.5, 2.0]), torch.tensor([1.5, 1.6, 1.4]))
    assert cameras.shape == (3, 25)
    cam2world, intrinsics = unpack_cameras(cameras)
    assert torch.equal(pack_cameras(cam2world, intrinsics), cameras)


def test_unpack_rejects_wrong_length():
    with pytest.raises(ValueError, match="25"):
        unpack_cameras(torch.zeros(3, 24))


def test_unknown_view_lists_known_views():
    with pytest.raises(KeyError, match="front"):
        named_camera("top")
    assert set(NAMED_VIEWS) == {"front", "left", "right"}


def test_orbit_is_a_closed_loop_around_the_front_view():
    yaw, pitch = orbit_angles(120)
    assert yaw.mean().item() == pytest.approx(math.pi / 2, abs=1e-5)
    assert (yaw - math.pi / 2).abs().max().item() == pytest.approx(math.radians(12), abs=1e-3)
    assert pitch[0].item() == pytest.approx(math.pi / 2 - math.radians(15), abs=1e-6)
    cameras = orbit_cameras(120)
    step = (cameras[1:] - cameras[:-1]).abs().max()
    closing = (cameras[0] - cameras[-1]).abs().max()
    assert closing <= step * 1.01


def test_a_turned_camera_orbits_the_pivot_and_keeps_looking_at_it():
    from ffedit.camera import AVG_CAMERA_PIVOT, camera_from_angles, turned_camera, unpack_cameras

    front = named_camera("front")
    turned = turned_camera(front, 0.4)
    expected = camera_from_angles(math.pi / 2 + 0.4, math.pi / 2)  # ≈ `right`, which orbits 0
    assert torch.allclose(turned, expected, atol=0.1)
    cam2world, _ = unpack_cameras(turned[None])
    pivot = torch.tensor(AVG_CAMERA_PIVOT)
    position, forward = cam2world[0, :3, 3], cam2world[0, :3, 2]
    original = unpack_cameras(front[None])[0][0, :3, 3]
    assert torch.linalg.norm(position - pivot) == pytest.approx(
        float(torch.linalg.norm(original - pivot)), rel=1e-5
    )
    toward = (pivot - position) / torch.linalg.norm(pivot - position)
    assert torch.allclose(forward, toward, atol=1e-5)
    assert torch.allclose(turned_camera(front, 0.0), front, atol=1e-6)
