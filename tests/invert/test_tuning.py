"""Pivotal tuning on the tiny generator: a delta of the fine weights only, that lowers the
loss, leaves the shared model untouched, and renders as the plain model when empty."""

import math

import torch

from ffedit.camera import camera_from_angles
from ffedit.invert import InversionConfig
from ffedit.invert.tuning import TUNED_PREFIXES, TuningConfig, tune_generator, tuned_render

FRONT = (math.pi / 2, math.pi / 2, 0.0, 0.0, 0.0)


def _pivot_and_target(generator):
    torch.manual_seed(4)
    c = torch.zeros(1, generator.config.c_dim)
    ws = generator.mapping(torch.randn(1, generator.config.z_dim), c).detach()
    other = generator.mapping(torch.randn(1, generator.config.z_dim), c)
    with torch.no_grad():
        target = generator.render(other, camera_from_angles(*FRONT[:2])[None], 32).rgb_raw[0]
    return ws, target


def test_an_empty_delta_renders_as_the_shared_model(generator):
    ws, _ = _pivot_and_target(generator)
    camera = camera_from_angles(*FRONT[:2])[None]
    with torch.no_grad():
        plain = generator.render(ws, camera, 32, super_resolve=False)
        tuned = tuned_render(generator, {}, ws, camera, 32)
    assert torch.allclose(plain.rgb_raw, tuned.rgb_raw)
    assert torch.allclose(plain.seg_logits, tuned.seg_logits)


def test_tuning_lowers_the_loss_with_a_delta_of_the_fine_weights_only(generator):
    ws, target = _pivot_and_target(generator)
    before = {name: p.clone() for name, p in generator.named_parameters()}
    result = tune_generator(
        generator,
        target,
        ws,
        FRONT,
        TuningConfig(steps=8, learning_rate=1e-2),
        InversionConfig(resolution=32),
    )
    assert result.losses[-1] < result.losses[0] and not result.cancelled
    assert result.delta and all(name.startswith(TUNED_PREFIXES) for name in result.delta)
    assert any(float(change.abs().max()) > 0 for change in result.delta.values())
    for name, p in generator.named_parameters():
        assert torch.equal(p, before[name]), name  # the shared model never changes
    camera = camera_from_angles(*FRONT[:2])[None]
    with torch.no_grad():
        plain = tuned_render(generator, {}, ws, camera, 32).rgb_raw
        tuned = tuned_render(generator, result.delta, ws, camera, 32).rgb_raw
    assert ((tuned - target) ** 2).mean() < ((plain - target) ** 2).mean()


def test_a_stop_ends_the_tuning(generator):
    ws, target = _pivot_and_target(generator)
    result = tune_generator(
        generator,
        target,
        ws,
        FRONT,
        TuningConfig(steps=10),
        InversionConfig(resolution=32),
        should_stop=lambda: True,
    )
    assert result.cancelled and len(result.losses) == 1
