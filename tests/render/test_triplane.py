"""Tri-plane projection keeps EG3D's (x,y), (x,z), (z,x) quirk; sampling is exact bilinear."""

import torch

from ffedit.render import project_onto_planes, sample_from_planes, sample_triplane_features


def test_projection_uses_eg3d_axes():
    points = torch.tensor([[[0.1, -0.2, 0.3], [0.4, 0.25, -0.45]]])
    projected = project_onto_planes(points)
    assert projected.shape == (1, 3, 2, 2)
    x, y, z = points[0].unbind(-1)
    assert torch.allclose(projected[0, 0], torch.stack([x, y], -1))
    assert torch.allclose(projected[0, 1], torch.stack([x, z], -1))
    assert torch.allclose(projected[0, 2], torch.stack([z, x], -1))


def _ramp_planes(size: int) -> torch.Tensor:
    """Planes whose channel 0 holds the width coordinate and channel 1 the height one."""
    centres = (2 * torch.arange(size, dtype=torch.float64) + 1) / size - 1
    width = centres.reshape(1, size).expand(size, size)
    height = centres.reshape(size, 1).expand(size, size)
    plane = torch.stack([width, height])  # (C=2, H, W)
    return plane.expand(1, 3, 2, size, size).clone()


def test_sampling_reads_the_projected_coordinates():
    planes = _ramp_planes(16)
    points = torch.tensor([[[0.11, -0.23, 0.31], [-0.2, 0.05, 0.17]]], dtype=torch.float64)
    box_warp = 1.0
    features = sample_from_planes(planes, points, box_warp)  # (B, P, N, C)
    expected = project_onto_planes(points * 2 / box_warp)  # ramps reproduce coordinates
    assert torch.allclose(features, expected, atol=1e-12)


def test_box_warp_scales_points_and_outside_is_zero():
    planes = torch.ones(1, 3, 1, 8, 8)
    point = torch.tensor([[[0.3, 0.3, 0.3]]])  # plane coordinate 0.6: between pixel centres
    assert sample_triplane_features(planes, point, box_warp=1.0).item() == 1.0
    assert sample_triplane_features(planes, point, box_warp=0.4).item() == 0.0  # 1.5: outside


def test_feature_is_the_mean_over_planes():
    planes = torch.stack([torch.full((1, 4, 4), float(k)) for k in (1, 2, 6)]).unsqueeze(0)
    features = sample_triplane_features(planes, torch.zeros(1, 5, 3), box_warp=1.0)
    assert torch.allclose(features, torch.full((1, 5, 1), 3.0))
