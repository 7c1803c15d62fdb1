"""Rendering the tiny generator: shapes and ranges, determinism, chunking, plane reuse,
appearance transfer, the seg_head plug-in, super-resolution and gradients."""

import copy
import dataclasses

import pytest
import torch

from ffedit.camera import cameras_from_angles, named_camera, unpack_cameras
from ffedit.generator import PRESETS, SERVING_APPEARANCE_THRESHOLD, TriplaneGenerator
from ffedit.generator.planes import normalize_planes, plane_statistics
from ffedit.render import rays_from_cameras, sample_triplane_features

CONFIG = PRESETS["tiny"]


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    generator = TriplaneGenerator(CONFIG).eval()
    with torch.no_grad():  # non-zero noise and w_avg so their paths matter
        for name, param in generator.named_parameters():
            if name.endswith("noise_strength"):
                param.fill_(0.3)
    return generator


@pytest.fixture(scope="module")
def inputs(generator):
    torch.manual_seed(1)
    cameras = cameras_from_angles(torch.tensor([1.57, 1.9]), torch.tensor([1.57, 1.4]))
    with torch.no_grad():
        ws = generator.mapping(torch.randn(2, CONFIG.z_dim), cameras)
    return ws, cameras


@pytest.fixture(scope="module")
def output(generator, inputs):
    with torch.no_grad():
        return generator.render(*inputs)


def test_output_shapes_and_ranges(output):
    size, channels = CONFIG.neural_rendering_resolution, CONFIG.feature_channels
    assert output.rgb_raw.shape == (2, 3, size, size)
    assert output.features.shape == (2, channels, size, size)
    assert output.seg_logits.shape == (2, CONFIG.seg_classes, size, size)
    assert output.depth.shape == output.opacity.shape == (2, 1, size, size)
    assert output.image.shape == (2, 3, CONFIG.image_resolution, CONFIG.image_resolution)
    assert output.plane_mean.shape == output.plane_std.shape == (2, 3 * CONFIG.plane_channels)
    assert torch.equal(output.rgb_raw, output.features[:, :3])
    assert output.features.min() >= -1.002 and output.features.max() <= 1.002
    assert output.opacity.min() >= 0 and output.opacity.max() <= 1
    assert output.depth.min() >= CONFIG.render.ray_start
    assert output.depth.max() <= CONFIG.render.ray_end
    assert output.seg_logits.std() > 0


def test_deterministic_render_repeats_and_stochastic_varies(generator, inputs, output):
    with torch.no_grad():
        again = generator.render(*inputs)
        stochastic = [generator.render(*inputs, deterministic=False) for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(output, again, strict=True))
    assert not torch.equal(stochastic[0].depth, stochastic[1].depth)


def test_chunked_equals_unchunked(generator, inputs, output):
    rays = CONFIG.neural_rendering_resolution**2
    with torch.no_grad():
        chunked = generator.render(*inputs, chunk_rays=100)
        whole = generator.render(*inputs, chunk_rays=rays)
    for name in ("features", "seg_logits", "depth", "opacity", "image"):
        assert torch.allclose(getattr(chunked, name), getattr(output, name), atol=1e-5), name
        assert torch.allclose(getattr(whole, name), getattr(output, name), atol=1e-5), name


def test_reusing_planes_and_broadcasting_one_camera(generator, inputs, output):
    ws, cameras = inputs
    with torch.no_grad():
        planes = generator.synthesize_planes(ws)
        reused = generator.render(ws, cameras, planes=planes)
        one_camera = generator.render(ws, cameras[:1])
        both_front = generator.render(ws, cameras[:1].expand(2, 25))
    assert planes.shape == (2, 3, CONFIG.plane_channels, 32, 32)
    assert all(torch.equal(a, b) for a, b in zip(output, reused, strict=True))
    assert torch.equal(one_camera.features, both_front.features)
    with pytest.raises(ValueError, match="cameras"):
        generator.render(ws, cameras.repeat(2, 1)[:3])


def test_noise_mode_reaches_the_backbone(generator, inputs, output):
    ws, cameras = inputs
    with torch.no_grad():
        without_noise = generator.synthesize_planes(ws, noise_mode="none")
        random_noise = generator.render(ws, cameras, noise_mode="random", super_resolve=False)
    assert not torch.allclose(without_noise, generator.synthesize_planes(ws))
    assert not torch.allclose(random_noise.features, output.features)


def test_own_plane_stats_is_a_no_op(generator, inputs, output):
    with torch.no_grad():
        imposed = generator.render(*inputs, plane_stats=(output.plane_mean, output.plane_std))
    assert all(torch.equal(a, b) for a, b in zip(output, imposed, strict=True))


def test_appearance_transfer_changes_colour_only(generator, inputs, output):
    swapped = (output.plane_mean.flip(0), output.plane_std.flip(0))
    with torch.no_grad():
        transferred = generator.render(*inputs, plane_stats=swapped)
    assert not torch.allclose(transferred.features, output.features, atol=1e-3)
    for name in ("seg_logits", "depth", "opacity", "plane_mean", "plane_std"):
        assert torch.equal(getattr(transferred, name), getattr(output, name)), name


def test_sample_points_equals_separately_sampled_decoder_inputs(generator, inputs):
    ws, _ = inputs
    torch.manual_seed(2)
    points = torch.rand(2, 50, 3) - 0.5
    directions = torch.nn.functional.normalize(torch.randn(2, 50, 3), dim=-1)
    with torch.no_grad():
        planes = generator.synthesize_planes(ws)
        samples = generator.sample_points(planes, points, directions)
        stats = plane_statistics(planes)
        normalized = normalize_planes(planes, stats)
        geo_in = sample_triplane_features(normalized, points, CONFIG.render.box_warp)
        per_channel = (2, 3, CONFIG.plane_channels, 1, 1)
        appearance = normalized * stats.std.reshape(per_channel) + stats.mean.reshape(per_channel)
        app_in = sample_triplane_features(appearance, points, CONFIG.render.box_warp)
        geo_out = generator.decoder.geo_net(geo_in)
        features = torch.sigmoid(generator.decoder.app_net(app_in)) * 1.002 - 0.001
    # One look-up of the channels-last normalised planes gives both decoders' inputs.
    assert torch.allclose(samples.normalized_features, geo_in, atol=1e-6)
    assert torch.allclose(samples.sigma, geo_out[..., :1], atol=1e-6)
    assert torch.allclose(samples.seg_logits, geo_out[..., 1:], atol=1e-6)
    assert torch.allclose(samples.features, features, atol=1e-6)
    other = (stats.mean.flip(0), stats.std.flip(0))
    with torch.no_grad():
        transferred = generator.sample_points(planes, points, directions, plane_stats=other)
    assert torch.equal(transferred.sigma, samples.sigma)
    assert torch.equal(transferred.seg_logits, samples.seg_logits)
    assert not torch.allclose(transferred.features, samples.features, atol=1e-3)


def test_seg_head_replaces_the_composited_logits(generator, inputs, output):
    def identity_head(normalized, geo_output, directions, points):
        return geo_output[..., 1:]

    def probe_head(normalized, geo_output, directions, points):
        assert normalized.shape[-1] == CONFIG.plane_channels
        return torch.cat([directions, geo_output[..., :1], points], dim=-1)

    with torch.no_grad():
        same = generator.render(*inputs, seg_head=identity_head)
        probed = generator.render(*inputs, seg_head=probe_head, super_resolve=False)
    assert all(torch.equal(a, b) for a, b in zip(output, same, strict=True))
    assert probed.seg_logits.shape[1] == 7
    assert torch.equal(probed.features, output.features)
    # A ray's direction is the same at all its samples: Σ w·d = d·opacity.
    origins, directions = rays_from_cameras(*unpack_cameras(inputs[1]), 32)
    origins, directions = (r.permute(0, 2, 1).reshape(2, 3, 32, 32) for r in (origins, directions))
    assert torch.allclose(probed.seg_logits[:, :3], directions * output.opacity, atol=1e-5)
    # The points are the samples': Σ w·(o + t·d) = (o + d·depth)·opacity.
    points = (origins + directions * output.depth) * output.opacity
    assert torch.allclose(probed.seg_logits[:, 4:], points, atol=1e-4)


def test_superresolution_resizes_other_sizes_and_can_be_skipped(generator, inputs, output):
    ws, cameras = inputs
    with torch.no_grad():
        small = generator.render(ws, cameras, resolution=16)
        skipped = generator.render(ws, cameras, super_resolve=False)
        direct = generator.superresolve(output.rgb_raw, output.features, ws)
    assert small.features.shape[-1] == 16
    assert small.image.shape[-1] == CONFIG.image_resolution
    assert skipped.image is None
    assert torch.equal(direct, output.image)
    assert torch.equal(skipped.features, output.features)


def test_deferred_appearance_matches_the_exact_render_within_its_bound(generator, inputs, output):
    def probe_head(normalized, geo_output, directions, points):
        return torch.cat([directions, geo_output[..., :1]], dim=-1)

    threshold = SERVING_APPEARANCE_THRESHOLD
    samples = CONFIG.render.depth_resolution + CONFIG.render.depth_resolution_importance
    with torch.no_grad():
        fast = generator.render(*inputs, appearance_threshold=threshold)
        coarse = generator.render(*inputs, appearance_threshold=0.05, super_resolve=False)
        probed = generator.render(*inputs, seg_head=probe_head, super_resolve=False)
        fast_probed = generator.render(
            *inputs, seg_head=probe_head, super_resolve=False, appearance_threshold=threshold
        )
    assert (fast.features - output.features).abs().max() <= 2 * samples * threshold
    assert (coarse.features - output.features).abs().max() > 1e-3  # samples were skipped
    for name in ("seg_logits", "depth", "opacity"):
        assert torch.allclose(getattr(fast, name), getattr(output, name), atol=1e-6), name
    assert torch.allclose(fast.image, output.image, atol=1e-2)
    assert torch.allclose(fast_probed.seg_logits, probed.seg_logits, atol=1e-6)


def test_gradients_reach_ws_also_through_deferred_appearance(generator, inputs):
    ws, cameras = inputs
    for threshold in (0.0, SERVING_APPEARANCE_THRESHOLD):
        leaf = ws.clone().requires_grad_(True)
        out = generator.render(leaf, cameras, super_resolve=False, appearance_threshold=threshold)
        out.rgb_raw.square().mean().backward()
        assert torch.isfinite(leaf.grad).all() and leaf.grad.abs().sum() > 0


def test_deferred_segmentation_stays_within_its_bound_and_carries_gradients(generator, inputs):
    def probe_head(normalized, geo_output, directions, points):  # |logit| ≤ 1, grads via σ
        return directions * torch.sigmoid(geo_output[..., :1])

    ws, cameras = inputs
    origins, directions = rays_from_cameras(*unpack_cameras(cameras), 16)
    samples = CONFIG.render.depth_resolution + CONFIG.render.depth_resolution_importance
    leaf = ws.clone().requires_grad_(True)
    planes = generator.synthesize_planes(leaf)

    def logits(threshold, head=probe_head):
        return generator.render_rays(
            planes,
            origins,
            directions,
            seg_head=head,
            appearance_threshold=threshold,
            defer_segmentation=threshold > 0,
        ).seg_logits

    exact = logits(0.0)
    deferred = logits(SERVING_APPEARANCE_THRESHOLD)
    bound = samples * SERVING_APPEARANCE_THRESHOLD  # a skipped sample adds ≤ threshold·1
    assert (deferred - exact).abs().max() <= bound
    assert (logits(0.05) - exact).abs().max() > 1e-3  # samples were skipped
    own = logits(SERVING_APPEARANCE_THRESHOLD, head=None)  # the decoder's own logits
    assert own.shape[-1] == CONFIG.seg_classes
    deferred.square().mean().backward()
    assert torch.isfinite(leaf.grad).all() and leaf.grad.abs().sum() > 0


def test_planes_split_once_render_and_sample_like_raw_planes_with_equal_gradients(
    generator, inputs
):
    ws, cameras = inputs
    origins, directions = rays_from_cameras(*unpack_cameras(cameras), 8)
    points = torch.rand(2, 20, 3) - 0.5
    grads = []
    for presplit in (False, True):
        planes = generator.synthesize_planes(ws).detach().requires_grad_(True)
        source = generator.split_planes(planes) if presplit else planes
        rays = generator.render_rays(source, origins, directions)
        samples = generator.sample_points(source, points, directions[:, :20])
        loss = rays.features.square().mean() + samples.sigma.square().mean()
        (grad,) = torch.autograd.grad(loss, planes)
        grads.append((rays.features, samples.sigma, grad))
    for plain, split in zip(*grads, strict=True):
        assert torch.allclose(plain, split, atol=1e-6)
    with pytest.raises(ValueError, match="plane_stats"):
        generator.render_rays(
            generator.split_planes(planes.detach()),
            origins,
            directions,
            plane_stats=(torch.zeros(1, 24), torch.ones(1, 24)),
        )


def test_gradients_reach_ws(generator, inputs):
    ws, cameras = inputs
    ws = ws.clone().requires_grad_(True)
    out = generator.render(ws, cameras, super_resolve=False)
    (out.rgb_raw.square().mean() + out.seg_logits.square().mean()).backward()
    assert torch.isfinite(ws.grad).all() and ws.grad.abs().sum() > 0


def test_named_front_camera_renders_a_single_view(generator):
    with torch.no_grad():
        ws = generator.mapping(torch.randn(1, CONFIG.z_dim), named_camera("front")[None])
        out = generator.render(ws, named_camera("front"), super_resolve=False)
    assert out.features.shape[0] == 1


def test_non_power_of_two_planes_are_refused():
    with pytest.raises(ValueError, match="power of two"):
        TriplaneGenerator(dataclasses.replace(CONFIG, plane_resolution=48))


@pytest.mark.cuda
def test_cuda_render_matches_cpu(generator, inputs, output):
    gpu = copy.deepcopy(generator).to("cuda")
    ws, cameras = inputs
    with torch.no_grad():
        result = gpu.render(ws.cuda(), cameras.cuda())
    assert result.image.device.type == "cuda"
    for name in ("features", "seg_logits", "depth", "opacity", "image"):
        assert torch.allclose(getattr(result, name).cpu(), getattr(output, name), atol=1e-3), name


def test_a_constant_plane_channel_gives_finite_gradients():
    planes = torch.randn(1, 3, 4, 8, 8)
    planes[0, 1, 2] = 0.5  # one constant channel
    planes.requires_grad_(True)
    statistics = plane_statistics(planes)
    assert torch.allclose(statistics.std[0, :6], planes.detach().reshape(12, 64).std(-1)[:6])
    normalize_planes(planes, statistics).square().sum().backward()
    assert torch.isfinite(planes.grad).all()
