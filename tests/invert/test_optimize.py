"""`invert_image` on the tiny generator: it fits its own render, stops when asked, keeps
the camera when told to, and its camera vector is the standard one at zero correction."""

import math

import torch

from ffedit.camera import camera_from_angles
from ffedit.invert import Camera, InversionConfig, invert_image
from ffedit.invert.optimize import cameras_from_parameters

FRONT = Camera(math.pi / 2, math.pi / 2)


def _target(generator, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    z = torch.randn(1, generator.config.z_dim)
    ws = generator.mapping(z, torch.zeros(1, generator.config.c_dim))
    with torch.no_grad():
        return generator.render(ws, camera_from_angles(*FRONT[:2])[None], 32).rgb_raw[0]


def test_zero_correction_is_the_standard_camera():
    params = torch.tensor([1.3, 1.7, 0.0, 0.0, 0.0])
    assert torch.allclose(cameras_from_parameters(params)[0], camera_from_angles(1.3, 1.7))


def test_inversion_lowers_the_loss_and_w_rows_are_equal(generator):
    config = InversionConfig(w_steps=12, wplus_steps=12, resolution=32)
    result = invert_image(generator, _target(generator, 1), FRONT, config)
    assert len(result.losses) == 24 and not result.cancelled
    assert min(result.losses[-3:]) < result.losses[0]
    assert torch.equal(result.w_ws, result.w_ws[:, :1].expand_as(result.w_ws))
    assert not torch.equal(result.ws, result.w_ws)


def test_a_stop_ends_the_inversion_and_reports_it(generator):
    steps = []
    result = invert_image(
        generator,
        _target(generator, 2),
        FRONT,
        InversionConfig(w_steps=10, wplus_steps=10, resolution=32),
        on_step=lambda done, total, loss: steps.append((done, total)),
        should_stop=lambda: len(steps) >= 3,
    )
    assert result.cancelled and steps == [(1, 20), (2, 20), (3, 20)]
    assert torch.equal(result.ws, result.w_ws)


def test_without_a_camera_rate_the_start_camera_stays(generator):
    start = Camera(math.pi / 2 + 0.1, math.pi / 2 - 0.05)
    config = InversionConfig(w_steps=3, wplus_steps=2, resolution=32, camera_learning_rate=0.0)
    result = invert_image(generator, _target(generator, 3), start, config)
    assert result.camera == Camera(*(float(torch.tensor(v)) for v in start))


def test_the_generators_gradient_flags_are_restored(generator):
    flags = [p.requires_grad for p in generator.parameters()]
    invert_image(generator, _target(generator, 5), FRONT, InversionConfig(w_steps=1, wplus_steps=0))
    assert [p.requires_grad for p in generator.parameters()] == flags
