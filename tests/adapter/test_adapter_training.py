"""fit_adapter: schedule, the cached fast path against a full recomputation, determinism,
learning, cancellation, input errors, and a generator left untouched."""

import dataclasses
import math

import pytest
import torch
from adapter_helpers import HAIR_LAYOUT, face_ws, hair_samples

from ffedit.adapter import (
    TRAINING_PRESETS,
    AdapterTrainingConfig,
    GeometryAdapter,
    LayoutSample,
    TooFewSamples,
    class_iou_on_samples,
    fit_adapter,
    predict_masks,
)
from ffedit.adapter import training as training_module
from ffedit.adapter.cache import cache_rays, cached_inputs, cached_logits
from ffedit.adapter.training import one_cycle_schedule, sampling_settings
from ffedit.camera import named_camera
from ffedit.layouts import InvalidMask

QUICK = AdapterTrainingConfig(
    steps=150, max_lr=0.1, batch_size=2, overlap_start_step=75, rays_per_sample=128, pool_rays=512
)
"""A short run; the higher peak lr lets the tiny adapter learn in 150 steps."""


def test_one_cycle_schedule_follows_pytorch_defaults():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([parameter], lr=1.0)
    schedule = one_cycle_schedule(optimizer, 0.01, 100)
    lrs, betas = [], []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        betas.append(optimizer.param_groups[0]["betas"][0])
        optimizer.step()
        schedule.step()
    peak = 29  # pct_start 0.3 of 100 steps, minus one
    assert lrs[0] == pytest.approx(0.01 / 25) and betas[0] == pytest.approx(0.95)
    assert lrs[peak] == pytest.approx(0.01) and betas[peak] == pytest.approx(0.85)
    assert lrs[-1] == pytest.approx(0.01 / 25 / 1e4) and betas[-1] == pytest.approx(0.95)
    rising = 0.01 + (0.01 / 25 - 0.01) / 2 * (1 + math.cos(math.pi * 10 / peak))
    assert lrs[10] == pytest.approx(rising)
    assert max(lrs) == lrs[peak]


def _front_rays(generator):
    camera = named_camera("front")[None]
    resolution = generator.config.neural_rendering_resolution
    ws = face_ws(generator, 7)[None]
    origins, directions = generator.camera_rays(camera, 1, resolution, ws)
    return ws, camera, origins[0], directions[0]


def _cached_logits(adapter, cache):
    return cached_logits(adapter, cached_inputs(adapter, cache)[None], cache.point_weights[None])


@pytest.mark.parametrize("variant", ["injection", "positional"])
def test_cached_fast_path_equals_the_recomputed_render_on_the_same_rays(generator, variant):
    ws, camera, origins, directions = _front_rays(generator)
    torch.manual_seed(1)
    adapter = GeometryAdapter.for_generator(generator.config, 6, variant=variant)
    settings = sampling_settings(generator, None)
    with torch.no_grad():
        reference = generator.render(ws, camera, super_resolve=False, seg_head=adapter).seg_logits
        reference = reference.flatten(2).transpose(1, 2)  # (1, R, K), rays row-major
        planes = generator.synthesize_planes(ws)
        cache = cache_rays(generator, planes, origins, directions, settings, None)
        fast = _cached_logits(adapter, cache)
    assert cache.point_weights.shape == (32 * 32, 24)
    assert torch.allclose(fast, reference, atol=1e-5, rtol=1e-5)
    assert torch.allclose(cache.point_weights.sum(-1), cache.total_weight)


def test_pruned_cache_error_is_bounded_by_the_weight_it_drops(generator):
    ws, _, origins, directions = _front_rays(generator)
    adapter = GeometryAdapter.for_generator(generator.config, 6)
    settings = sampling_settings(generator, None)
    with torch.no_grad():
        planes = generator.synthesize_planes(ws)
        full = cache_rays(generator, planes, origins, directions, settings, None)
        pruned = cache_rays(generator, planes, origins, directions, settings, 8)
        exact = _cached_logits(adapter, full)[0]
        approx = _cached_logits(adapter, pruned)[0]
        largest = adapter(
            full.normalized_features,
            full.geo_output,
            directions[:, None].expand(-1, 24, -1),
            full.points,
        )
    dropped = full.total_weight - pruned.point_weights.sum(-1)
    assert bool((dropped >= -1e-6).all()) and float(dropped.max()) > 0
    bound = dropped * largest.abs().amax(dim=(1, 2)) + 1e-5
    assert bool(((exact - approx).abs().amax(-1) <= bound).all())
    # the kept samples are the heaviest: 8 of 24 hold more than a third of the weight
    assert bool((pruned.point_weights.sum(-1) >= full.total_weight * 8 / 24 - 1e-6).all())


def test_fit_is_deterministic_for_a_seed(generator):
    samples = hair_samples(generator, range(4))
    config = AdapterTrainingConfig(steps=6, batch_size=2, rays_per_sample=64, pool_rays=256)
    first = fit_adapter(generator, samples, HAIR_LAYOUT, config)
    again = fit_adapter(generator, samples, HAIR_LAYOUT, config)
    other = fit_adapter(
        generator, samples, HAIR_LAYOUT, AdapterTrainingConfig(**{**config.to_dict(), "seed": 1})
    )
    for name, tensor in first.adapter.state_dict().items():
        assert torch.equal(tensor, again.adapter.state_dict()[name])
    assert first.loss_history == again.loss_history
    assert not torch.equal(first.adapter[0].weight, other.adapter[0].weight)


def _accuracy_and_baseline(generator, adapter, samples):
    """Pixel accuracy of the adapter's masks, and that of always answering the majority class."""
    ws = torch.stack([sample.ws for sample in samples])
    cameras = torch.stack([sample.camera for sample in samples])
    labels = torch.stack([sample.labels for sample in samples])
    predicted = predict_masks(generator, adapter, ws, cameras)
    majority = max(float(labels.float().mean()), 1 - float(labels.float().mean()))
    return float((predicted == labels).float().mean()), majority


def test_fast_fit_lowers_the_loss_and_learns_the_layout_at_unseen_faces(generator):
    samples = hair_samples(generator, range(4))
    fit = fit_adapter(generator, samples, HAIR_LAYOUT, QUICK)
    assert fit.steps == QUICK.steps and not fit.cancelled
    assert sum(fit.loss_history[-10:]) < 0.6 * sum(fit.loss_history[:10])
    accuracy, majority = _accuracy_and_baseline(generator, fit.adapter, samples)
    assert accuracy > majority + 0.15
    unseen, unseen_majority = _accuracy_and_baseline(
        generator, fit.adapter, hair_samples(generator, range(100, 106))
    )
    assert unseen > unseen_majority + 0.05
    assert 16 / 24 < fit.kept_weight < 1  # the heaviest 16 of 24 samples per ray


def test_on_step_reports_progress_and_should_stop_cancels(generator):
    samples = hair_samples(generator, range(2))
    seen = []

    def on_step(step, total, losses, adapter):
        seen.append((step, total, sorted(losses), isinstance(adapter, GeometryAdapter)))

    fit = fit_adapter(
        generator, samples, HAIR_LAYOUT, QUICK, on_step, should_stop=lambda: len(seen) >= 3
    )
    assert fit.cancelled and fit.steps == 3
    assert seen[0] == (1, QUICK.steps, ["cross_entropy", "lr", "overlap", "total"], True)
    assert [s[0] for s in seen] == [1, 2, 3]


def test_on_prepare_reports_each_cached_variant_before_step_one_and_changes_nothing(generator):
    samples = hair_samples(generator, range(2))
    config = AdapterTrainingConfig(steps=4, lmta_pool=3, rays_per_sample=64, pool_rays=256)
    events = []
    fit = fit_adapter(
        generator,
        samples,
        HAIR_LAYOUT,
        config,
        on_step=lambda step, *_: events.append(("step", step)),
        on_prepare=lambda done, total: events.append(("prepare", done, total)),
    )
    variants = 1 + config.lmta_pool  # the unmixed latents, then each mixing latent
    prepared = [("prepare", done, variants) for done in range(1, variants + 1)]
    assert events == prepared + [("step", step) for step in range(1, config.steps + 1)]
    plain = fit_adapter(generator, samples, HAIR_LAYOUT, config)
    for name, tensor in plain.adapter.state_dict().items():
        assert torch.equal(tensor, fit.adapter.state_dict()[name])
    assert plain.loss_history == fit.loss_history


def test_fit_reads_the_generator_without_changing_it_and_mixes_appearance_rows(
    generator, monkeypatch
):
    before = {name: tensor.clone() for name, tensor in generator.state_dict().items()}
    mixed_rows = []
    original = training_module.mix_appearance_ws

    def recording(ws, mixing_ws, layers):
        mixed_rows.append(layers)
        return original(ws, mixing_ws, layers)

    monkeypatch.setattr(training_module, "mix_appearance_ws", recording)
    config = AdapterTrainingConfig(steps=4, rays_per_sample=32, pool_rays=64, lmta_pool=2)
    fit_adapter(generator, hair_samples(generator, range(2)), HAIR_LAYOUT, config)
    assert mixed_rows == [generator.config.appearance_ws] * 2
    for name, tensor in generator.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    assert all(parameter.grad is None for parameter in generator.parameters())


def test_input_errors_say_what_is_wrong(generator):
    samples = hair_samples(generator, range(2))
    with pytest.raises(TooFewSamples, match=r"at least 1 .* found 0"):
        fit_adapter(generator, [], HAIR_LAYOUT, QUICK)
    small = LayoutSample(samples[0].ws, samples[0].camera, samples[0].labels[:16, :16])
    with pytest.raises(InvalidMask, match=r"32×32 .* got 16×16"):
        fit_adapter(generator, [samples[1], small], HAIR_LAYOUT, QUICK)
    outside = LayoutSample(samples[0].ws, samples[0].camera, samples[0].labels * 2)
    with pytest.raises(InvalidMask, match=r"\[0, 1\] for layout 'hair'; got \[0, 2\]"):
        fit_adapter(generator, [outside], HAIR_LAYOUT, QUICK)


@pytest.mark.slow
def test_full_trainer_learns_as_well_as_the_fast_one(generator):
    samples = hair_samples(generator, range(4))
    config = AdapterTrainingConfig(**{**QUICK.to_dict(), "trainer": "full", "chunk_rays": 1024})
    full = fit_adapter(generator, samples, HAIR_LAYOUT, config)
    fast = fit_adapter(generator, samples, HAIR_LAYOUT, QUICK)
    assert full.kept_weight is None
    assert sum(full.loss_history[-10:]) < 0.6 * sum(full.loss_history[:10])
    full_accuracy, majority = _accuracy_and_baseline(generator, full.adapter, samples)
    fast_accuracy, _ = _accuracy_and_baseline(generator, fast.adapter, samples)
    assert full_accuracy > majority + 0.15
    assert abs(full_accuracy - fast_accuracy) < 0.05


def test_full_trainer_is_deterministic_for_a_seed(generator):
    samples = hair_samples(generator, range(2))
    config = AdapterTrainingConfig(steps=3, batch_size=2, trainer="full", chunk_rays=512)
    first = fit_adapter(generator, samples, HAIR_LAYOUT, config)
    again = fit_adapter(generator, samples, HAIR_LAYOUT, config)
    other = fit_adapter(generator, samples, HAIR_LAYOUT, dataclasses.replace(config, seed=1))
    assert first.loss_history == again.loss_history
    assert torch.equal(first.adapter[2].weight, again.adapter[2].weight)
    assert first.loss_history != other.loss_history
    assert first.pool_check is None  # no cache: the app renders the samples to check them


def test_full_trainer_synthesises_planes_with_the_configured_backbone_noise(generator, monkeypatch):
    samples = hair_samples(generator, range(2))
    modes = []
    original = generator.synthesize_planes

    def recording(ws, noise_mode="const"):
        modes.append(noise_mode)
        return original(ws, noise_mode)

    monkeypatch.setattr(generator, "synthesize_planes", recording)
    config = AdapterTrainingConfig(
        steps=2, batch_size=2, trainer="full", chunk_rays=512, lmta_probability=0
    )
    fit_adapter(generator, samples, HAIR_LAYOUT, config)
    assert modes == ["const", "const"]  # as the app renders (the default)
    modes.clear()
    fit_adapter(
        generator, samples, HAIR_LAYOUT, dataclasses.replace(config, backbone_noise="random")
    )
    assert modes == ["random", "random"]  # as the paper does with EG3D
    assert TRAINING_PRESETS["paper"].backbone_noise == "random"
    with pytest.raises(ValueError, match="unknown backbone noise 'loud'"):
        AdapterTrainingConfig(backbone_noise="loud")


def test_a_fast_fit_checks_itself_on_the_pool_rays_as_a_render_would(generator):
    samples = hair_samples(generator, range(2))
    fit = fit_adapter(generator, samples, HAIR_LAYOUT, QUICK)
    check = fit.pool_check
    pixels = generator.config.neural_rendering_resolution**2
    assert check.predicted.shape == check.painted.shape == (2, QUICK.pool_rays)
    # each pool ray stands for its class's pixels: the weights give back the masks' counts
    assert torch.allclose(check.pixel_weights.sum(1), torch.full((2,), float(pixels)))
    for index, sample in enumerate(samples):
        painted = torch.bincount(check.painted[index], check.pixel_weights[index], minlength=2)
        counts = torch.bincount(sample.labels.reshape(-1), minlength=2).float()
        assert torch.allclose(painted, counts)
    # the pool's IoU estimates the rendered masks' IoU
    rendered = predict_masks(
        generator,
        fit.adapter,
        torch.stack([s.ws for s in samples]),
        torch.stack([s.camera for s in samples]),
    )
    painted = torch.stack([s.labels for s in samples])
    by_render = class_iou_on_samples(rendered, painted, HAIR_LAYOUT, 1)
    by_pool = class_iou_on_samples(
        check.predicted, check.painted, HAIR_LAYOUT, 1, check.pixel_weights
    )
    # within 0.06: the pool keeps 16 of 24 samples per ray, and the positional adapter's
    # logits at the dropped ones differ most (here 0.055 off; 0.009 with every sample kept)
    for render_fit, pool_fit in zip(by_render, by_pool, strict=True):
        assert pool_fit.iou == pytest.approx(render_fit.iou, abs=0.06)
