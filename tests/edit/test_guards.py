"""Guard views: the free region around the painted pixels' surface, seen from other cameras."""

import pytest
import torch

from ffedit.camera import named_camera, turned_camera, unpack_cameras
from ffedit.edit.guards import SWEEP_SAMPLES, free_region, painted_points
from ffedit.edit.isotropic import IsotropicAdam
from ffedit.edit.regions import edge_strata, label_edges
from ffedit.render import rays_from_cameras

RESOLUTION = 32


def _front_rays():
    cam2world, intrinsics = unpack_cameras(named_camera("front")[None])
    origins, directions = rays_from_cameras(cam2world, intrinsics, RESOLUTION)
    return origins[0], directions[0]


def test_the_free_region_of_the_edit_camera_itself_covers_the_painted_pixels():
    origins, directions = _front_rays()
    painted = torch.zeros(RESOLUTION * RESOLUTION, dtype=torch.bool)
    painted[[5 * RESOLUTION + 7, 20 * RESOLUTION + 9]] = True
    depth = torch.full((2,), 2.5)
    points = painted_points(origins[painted], directions[painted], depth, torch.ones(2))
    assert points.shape == (2 * SWEEP_SAMPLES, 3)
    region = free_region(points, named_camera("front"), RESOLUTION, radius=0)
    assert region.reshape(-1)[painted].all() and int(region.sum()) == 2
    turned = free_region(points, turned_camera(named_camera("front"), 0.5), RESOLUTION, 1)
    assert 0 < int(turned.sum()) < RESOLUTION * RESOLUTION // 4  # a streak, not the frame


def test_a_painted_pixel_over_background_takes_the_opaque_ones_surface():
    origins, directions = _front_rays()
    depth = torch.tensor([2.5, 2.6, 9.0])
    opacity = torch.tensor([0.9, 0.9, 0.0])
    points = painted_points(origins[:3], directions[:3], depth, opacity).reshape(3, -1, 3)
    distance = torch.linalg.norm(points[2] - origins[2], dim=-1)
    assert float(distance.max()) < 3.0  # swept around the median surface 2.55, not at 9


def test_label_edges_and_their_strata():
    labels = torch.zeros(6, 6, dtype=torch.long)
    labels[2:4, 2:4] = 1
    edges = label_edges(labels)
    assert edges[2, 2] and edges[1, 1] and not edges[0, 5] and not edges[5, 0]
    strata = edge_strata(labels, edges)
    assert set(strata.unique().tolist()) == {0, 2, 3}  # class 0 inside and at edges; 1 at edges


def test_isotropic_adam_steps_along_the_gradient():
    parameter = torch.zeros(4, requires_grad=True)
    optimizer = IsotropicAdam([parameter], lr=0.1)
    parameter.grad = torch.tensor([3.0, 1.0, 0.0, 0.0])
    optimizer.step()
    step = -parameter.detach()
    assert torch.allclose(step / step.norm(), torch.tensor([3.0, 1.0, 0, 0]) / 10**0.5, atol=1e-6)
    assert float(step.square().mean().sqrt()) == pytest.approx(0.1, rel=1e-4)
    adam = torch.zeros(4, requires_grad=True)
    reference = torch.optim.Adam([adam], lr=0.1)
    adam.grad = torch.tensor([3.0, 1.0, 0.0, 0.0])
    reference.step()
    assert torch.allclose(-adam.detach()[:2], torch.tensor([0.1, 0.1]))  # per entry: no direction
