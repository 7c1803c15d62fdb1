"""The mip ray marcher against closed forms, and its gradients."""

import math

import torch

from ffedit.render import (
    composite,
    composite_samples,
    compositing_weights,
    expected_depth,
    sample_weights,
)


def test_constant_density_gives_geometric_weights():
    samples, delta, raw_sigma = 9, 0.1, 3.0
    depths = (2.0 + delta * torch.arange(samples, dtype=torch.float64)).reshape(1, 1, -1, 1)
    densities = torch.full_like(depths, raw_sigma)
    weights = compositing_weights(densities, depths, density_shift=-1.0)[0, 0, :, 0]
    sigma = math.log1p(math.exp(raw_sigma - 1.0))  # softplus(σ − 1)
    alpha = 1 - math.exp(-sigma * delta)
    expected = torch.tensor([alpha * (1 - alpha + 1e-10) ** i for i in range(samples - 1)])
    assert torch.allclose(weights, expected.double(), rtol=1e-9)


def test_constant_values_composite_to_opacity_times_value():
    depths = torch.linspace(2.0, 3.0, 17).reshape(1, 1, -1, 1)
    densities = torch.full_like(depths, 4.0)
    values = torch.full((1, 1, 17, 2), 0.7)
    result = composite(values, densities, depths)
    opacity = result.weights.sum(-2)
    assert torch.allclose(result.values, 0.7 * opacity.expand(1, 1, 2), atol=1e-6)


def test_values_and_densities_are_averaged_between_samples():
    depths = torch.tensor([0.0, 1.0]).reshape(1, 1, 2, 1)
    densities = torch.tensor([0.0, 100.0]).reshape(1, 1, 2, 1)  # mean 50: opaque
    values = torch.tensor([[2.0], [4.0]]).reshape(1, 1, 2, 1)
    result = composite(values, densities, depths, density_shift=0.0)
    assert torch.allclose(result.values, torch.tensor([[[3.0]]]), atol=1e-6)
    assert torch.allclose(result.depth, torch.tensor([[[0.5]]]))


def test_opaque_wall_sets_depth_and_hides_what_is_behind():
    depths = torch.linspace(2.0, 3.0, 21).reshape(1, 1, -1, 1)
    densities = torch.where(depths > 2.5, 1e4, -1e4)
    values = torch.where(depths > 2.7, 9.0, 1.0)
    result = composite(values, densities, depths)
    # The interval (2.5, 2.55) mixes empty and solid; the first opaque midpoint is 2.575.
    assert abs(result.depth.item() - 2.575) < 0.005
    assert abs(result.values.item() - 1.0) < 1e-3


def test_empty_ray_depth_is_clamped_to_the_far_end():
    depths = torch.linspace(2.0, 3.0, 5).reshape(1, 1, -1, 1)
    weights = torch.zeros(1, 1, 4, 1)
    assert expected_depth(weights, depths).item() == 3.0


def test_an_empty_ray_sends_back_finite_gradients():
    depths = torch.linspace(2.0, 3.0, 8).reshape(1, 2, 4, 1)
    densities = torch.tensor([-200.0] * 4 + [5.0] * 4).reshape(1, 2, 4, 1).requires_grad_()
    depth = expected_depth(compositing_weights(densities, depths), depths)
    assert depth[0, 0].item() == 3.0  # the empty ray
    (depth * torch.tensor([[[0.0], [1.0]]])).sum().backward()  # only the full ray supervised
    assert torch.isfinite(densities.grad).all()
    assert densities.grad[0, 1].abs().sum() > 0


def test_gradcheck_of_compositing_in_float64():
    generator = torch.Generator().manual_seed(0)
    depths = torch.sort(torch.rand(1, 2, 6, 1, dtype=torch.float64, generator=generator), -2)[0]
    densities = torch.randn(1, 2, 6, 1, dtype=torch.float64, generator=generator)
    values = torch.randn(1, 2, 6, 3, dtype=torch.float64, generator=generator)
    densities.requires_grad_(True)
    values.requires_grad_(True)

    def run(v, s):
        result = composite(v, s, depths + 2.0)
        return result.values, result.depth

    assert torch.autograd.gradcheck(run, (values, densities))


def test_per_sample_weights_composite_like_midpoints():
    torch.manual_seed(0)
    values = torch.randn(2, 5, 9, 4, dtype=torch.float64)
    densities = torch.randn(2, 5, 9, 1, dtype=torch.float64) * 5
    depths = torch.sort(torch.rand(2, 5, 9, 1, dtype=torch.float64) + 2, dim=-2).values
    reference = composite(values, densities, depths)
    per_sample = sample_weights(reference.weights)
    assert per_sample.shape == (2, 5, 9, 1)
    assert torch.allclose(per_sample.sum(-2), reference.weights.sum(-2), atol=1e-12)
    assert torch.allclose(composite_samples(per_sample, values), reference.values, atol=1e-12)
