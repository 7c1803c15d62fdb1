"""Tri-plane projection keeps EG3D's (x,y), (x,z), (z,x) quirk; sampling is exact bilinear."""

import torch

from ffedit.render import (
    plane_coverage,
    project_onto_planes,
    sample_from_planes,
    sample_plane_branches,
    sample_triplane_features,
)


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


def _points_across_the_box_edge(count=400):
    torch.manual_seed(3)
    return (torch.rand(2, count, 3) - 0.5) * 1.2  # some outside, some within a texel of the edge


def test_coverage_is_a_lookup_of_a_plane_of_ones():
    points = _points_across_the_box_edge()
    coverage = plane_coverage(points, box_warp=1.0, height=6, width=8)
    ones = torch.ones(2, 3, 1, 6, 8)
    assert torch.allclose(coverage, sample_from_planes(ones, points, 1.0)[..., 0], atol=1e-6)
    assert bool((coverage == 0).any())  # outside the box a look-up reads nothing
    assert bool(((coverage > 0) & (coverage < 1)).any())  # partial weights at the edge


def test_branches_equal_lookups_of_the_transformed_planes_with_equal_gradients():
    torch.manual_seed(4)
    planes = torch.randn(2, 3, 5, 8, 8)
    scale = torch.rand(2, 3, 5, 2) + 0.5
    shift = torch.randn(1, 3, 5, 2)  # one row broadcasts over the batch
    points = _points_across_the_box_edge()
    grads = []
    for fused in (True, False):
        leaf = planes.clone().requires_grad_(True)
        if fused:
            features = sample_plane_branches(leaf, points, 1.0, scale, shift)
        else:
            features = torch.cat(
                [
                    sample_triplane_features(
                        leaf * scale[..., k, None, None] + shift[..., k, None, None], points, 1.0
                    )
                    for k in range(2)
                ],
                dim=-1,
            )
        (grad,) = torch.autograd.grad(features.square().sum(), leaf)
        grads.append((features, grad))
    (fused, fused_grad), (plain, plain_grad) = grads
    assert fused.shape == (2, 400, 10)
    assert torch.allclose(fused, plain, atol=1e-5)
    assert torch.allclose(fused_grad, plain_grad, atol=1e-4)
    assert not torch.allclose(fused[..., :5], fused[..., 5:], atol=1e-2)
