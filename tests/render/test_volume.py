"""Whole-ray rendering: a sphere field gives its analytic depth; chunking changes nothing."""

import torch

from ffedit.camera import cameras_from_angles, unpack_cameras
from ffedit.render import (
    CPU_RAYS_PER_PASS,
    DeferredField,
    RaySamplingSettings,
    default_chunk_rays,
    rays_from_cameras,
    render_rays,
    render_rays_chunked,
    render_rays_reference,
    sample_rays,
)

SETTINGS = RaySamplingSettings(ray_start=2.25, ray_end=3.3, num_coarse=48, num_importance=48)
RADIUS = 0.3


def sphere_field(points, directions):
    inside = torch.linalg.norm(points, dim=-1, keepdim=True) < RADIUS
    sigma = torch.where(inside, 200.0, -50.0)
    colour = torch.cat([points, inside.float()], dim=-1)
    return sigma, colour


def _rays(resolution=9):
    cameras = cameras_from_angles(torch.tensor([1.57, 1.9]), torch.tensor([1.57, 1.4]))
    return rays_from_cameras(*unpack_cameras(cameras), resolution)


def test_centre_ray_hits_the_sphere_at_its_analytic_depth():
    origins, directions = _rays()
    result = render_rays(sphere_field, origins, directions, SETTINGS, deterministic=True)
    # Centre pixel of the front view passes through the origin: hit at 2.7 − 0.3.
    assert abs(result.depth[0, 40, 0].item() - (2.7 - RADIUS)) < 0.01
    assert result.opacity[0, 40, 0].item() > 0.99
    assert result.opacity[0, 0, 0].item() < 0.01  # corner ray misses


def test_chunked_equals_unchunked_and_deterministic_repeats():
    origins, directions = _rays()
    whole = render_rays(sphere_field, origins, directions, SETTINGS, deterministic=True)
    chunked = render_rays_chunked(
        sphere_field, origins, directions, SETTINGS, deterministic=True, chunk_rays=10
    )
    for a, b in zip(whole, chunked, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    again = render_rays(sphere_field, origins, directions, SETTINGS, deterministic=True)
    assert all(torch.equal(a, b) for a, b in zip(whole, again, strict=True))


def test_stochastic_rendering_varies_but_agrees_on_average():
    origins, directions = _rays()
    first = render_rays(sphere_field, origins, directions, SETTINGS, deterministic=False)
    second = render_rays(sphere_field, origins, directions, SETTINGS, deterministic=False)
    assert not torch.equal(first.depth, second.depth)
    hit = first.opacity[..., 0] > 0.99
    assert (first.depth - second.depth)[hit].abs().max() < 0.03


def test_sample_rays_returns_the_sorted_merged_samples_that_render_rays_composites():
    origins, directions = _rays()
    samples = sample_rays(sphere_field, origins, directions, SETTINGS, deterministic=True)
    count = SETTINGS.num_coarse + SETTINGS.num_importance
    assert samples.depths.shape == (2, 81, count, 1) and samples.values.shape == (2, 81, count, 4)
    assert bool((samples.depths[:, :, 1:] >= samples.depths[:, :, :-1]).all())
    sigma, values = sphere_field(
        origins.unsqueeze(2) + samples.depths * directions.unsqueeze(2), None
    )
    assert torch.equal(samples.sigma, sigma) and torch.equal(samples.values, values)
    # Importance samples crowd around the surface of the centre ray (depth 2.4).
    near_surface = (samples.depths[0, 40, :, 0] - (2.7 - RADIUS)).abs() < 0.05
    assert int(near_surface.sum()) > SETTINGS.num_importance // 2


def test_render_rays_equals_its_reference_twin_with_gradients():
    origins, directions = _rays()
    scale = torch.tensor(1.0, requires_grad=True)

    def field(points, dirs):
        sigma, colour = sphere_field(points, dirs)
        return sigma, colour * scale

    for deterministic in (True, False):
        results = []
        for render in (render_rays, render_rays_reference):
            torch.manual_seed(3)
            rendered = render(field, origins, directions, SETTINGS, deterministic=deterministic)
            (grad,) = torch.autograd.grad(rendered.values.square().sum(), scale)
            results.append((*rendered, grad))
        for fast, reference in zip(*results, strict=True):
            assert torch.allclose(fast, reference, atol=1e-5, rtol=1e-5)
        assert torch.equal(results[0][1], results[1][1])  # depth: same sorted weights


def test_render_rays_without_importance_samples_equals_its_reference_twin():
    origins, directions = _rays()
    settings = SETTINGS._replace(num_importance=0)
    fast = render_rays(sphere_field, origins, directions, settings, deterministic=True)
    reference = render_rays_reference(
        sphere_field, origins, directions, settings, deterministic=True
    )
    for a, b in zip(fast, reference, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_default_chunks_share_about_a_thousand_rays_per_pass_on_cpu_only():
    assert default_chunk_rays(1, torch.device("cpu")) == CPU_RAYS_PER_PASS
    assert default_chunk_rays(3, torch.device("cpu")) == CPU_RAYS_PER_PASS // 3
    assert default_chunk_rays(CPU_RAYS_PER_PASS * 2, torch.device("cpu")) == 1
    assert default_chunk_rays(1, torch.device("cuda")) is None


def _deferred_sphere(threshold):
    def geometry(points, directions):
        sigma, colour = sphere_field(points, directions)
        return sigma, colour[..., :1] * 3  # geometry values: a scaled inside flag

    def appearance(points, directions):
        return torch.cat([points.sin(), directions], dim=-1)  # 6 channels in [−1, 1]

    return DeferredField(geometry, appearance, threshold)


def test_deferred_appearance_matches_decoding_everywhere_within_its_bound():
    origins, directions = _rays()
    for threshold in (1e-5, 1e-2):
        field = _deferred_sphere(threshold)
        fast = render_rays(field, origins, directions, SETTINGS, deterministic=True)
        reference = render_rays(field.decode_all, origins, directions, SETTINGS, deterministic=True)
        twin = render_rays_reference(
            field.decode_all, origins, directions, SETTINGS, deterministic=True
        )
        assert fast.values.shape == reference.values.shape == (2, 81, 7)
        samples = SETTINGS.num_coarse + SETTINGS.num_importance
        error = (fast.values[..., :6] - reference.values[..., :6]).abs().max()
        assert error <= samples * threshold
        assert torch.allclose(fast.values[..., 6:], reference.values[..., 6:], atol=1e-6)
        assert torch.equal(fast.depth, reference.depth)
        assert torch.equal(fast.opacity, reference.opacity)
        assert torch.allclose(reference.values, twin.values, atol=1e-5)
    # A large threshold does skip samples (so the bound above is not vacuous).
    assert error > 1e-4


def test_deferred_appearance_is_chunked_like_any_field():
    origins, directions = _rays()
    field = _deferred_sphere(1e-5)
    whole = render_rays(field, origins, directions, SETTINGS, deterministic=True)
    chunked = render_rays_chunked(
        field, origins, directions, SETTINGS, deterministic=True, chunk_rays=10
    )
    for a, b in zip(whole, chunked, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
