"""Distillation steps on the tiny preset with synthetic teacher entries."""

import copy
import dataclasses
import shutil

import pytest
import torch

from ffedit.camera import cameras_from_angles
from ffedit.distill.train import (
    DistillConfig,
    Distiller,
    align_mapping_to_teacher,
    compile_for_training,
    mixed_ws,
    sample_ray_indices,
    scheduled_learning_rate,
    set_mean_w,
)
from ffedit.generator import PRESETS, TriplaneGenerator
from ffedit.synthface import LATENT_DIM, parameter_directions, switch_points

CONFIG = PRESETS["tiny"]


SYNTHFACE_Z = dataclasses.replace(CONFIG, z_dim=LATENT_DIM, c_gen_conditioning_zero=True)
"""The tiny preset with synthface's z (what a teacher-aligned mapping needs)."""


def _entries(count=3, views=2, resolution=8, points=64, z_dim=CONFIG.z_dim):
    rng = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 15, (count, views, resolution, resolution), generator=rng)
    return {
        "z_shape": torch.randn(count, z_dim, generator=rng),
        "z_appearance": torch.randn(count, z_dim, generator=rng),
        "cameras": cameras_from_angles(
            torch.full((count * views,), 1.5), torch.full((count * views,), 1.6)
        ).reshape(count, views, 25),
        "rgb": torch.rand(count, views, 3, resolution, resolution, generator=rng) * 2 - 1,
        "labels": labels.to(torch.uint8),
        "depth": torch.full((count, views, 1, resolution, resolution), 2.6),
        "points": torch.rand(count, points, 3, generator=rng) - 0.5,
        "density": torch.rand(count, points, generator=rng) * 100,
        "point_labels": torch.randint(0, 15, (count, points), generator=rng).to(torch.uint8),
        "point_rgb": torch.rand(count, points, 3, generator=rng) * 2 - 1,
    }


def _distiller(seed=0, teacher_mapping=False):
    torch.manual_seed(seed)
    architecture = SYNTHFACE_Z if teacher_mapping else CONFIG
    generator = TriplaneGenerator(architecture)
    config = DistillConfig(
        batch_size=2,
        rays_per_entry=16,
        points_per_entry=32,
        seed=seed,
        teacher_mapping=teacher_mapping,
    )
    return Distiller(generator, _entries(z_dim=architecture.z_dim), config)


def test_mixed_ws_take_only_the_appearance_layers_from_the_second_latent():
    generator = TriplaneGenerator(CONFIG)
    z_a, z_b = torch.randn(2, CONFIG.z_dim), torch.randn(2, CONFIG.z_dim)
    ws = mixed_ws(generator, z_a, z_b)
    zeros = torch.zeros(2, CONFIG.c_dim)
    ws_a, ws_b = generator.mapping(z_a, zeros), generator.mapping(z_b, zeros)
    for layer in range(CONFIG.num_ws):
        expected = ws_b if layer in CONFIG.appearance_ws else ws_a
        assert torch.equal(ws[:, layer], expected[:, layer])


def test_rare_pixels_get_their_share_of_rays():
    labels = torch.zeros(1, 32, 32, dtype=torch.uint8)
    labels[0, :2, :2] = 3  # four 'eye' pixels out of 1024
    indices = sample_ray_indices(labels, 200, 0.5, torch.Generator().manual_seed(0))
    rare = (labels.reshape(-1)[indices] == 3).float().mean()
    assert 0.45 <= rare <= 0.6


def test_the_rare_share_is_split_evenly_between_the_small_classes_present():
    labels = torch.zeros(1, 32, 32, dtype=torch.uint8)
    labels[0, :16] = 7  # 512 'nose' pixels
    labels[0, 20, 0] = 6  # one 'earring' pixel
    indices = sample_ray_indices(labels, 4000, 0.5, torch.Generator().manual_seed(0))
    picked = labels.reshape(-1)[indices]
    earring, nose = float((picked == 6).float().mean()), float((picked == 7).float().mean())
    assert 0.2 <= earring <= 0.3  # half of the rare half; a pixel-uniform draw gives ~0.1 %
    assert 0.35 <= nose <= 0.55  # its rare quarter plus its share of the uniform half


def test_training_steps_lower_the_loss():
    distiller = _distiller()
    batch = distiller._batch()
    before = distiller.losses(batch)["total"].item()
    for _ in range(25):
        distiller.step()
    after = distiller.losses(batch)["total"].item()
    assert after < before * 0.9


def test_resuming_from_a_state_dict_repeats_the_next_step_exactly():
    first = _distiller()
    first.step()
    state = copy.deepcopy(first.state_dict())
    expected = first.step()
    resumed = _distiller(seed=0)
    resumed.load_state_dict(state)
    assert resumed.step_index == 1
    assert resumed.step() == expected


@pytest.mark.skipif(
    shutil.which("c++") is None, reason="torch.compile on CPU needs a C++ compiler (c++)"
)
def test_a_compiled_generator_gives_the_same_losses_and_weights_keys():
    plain, compiled = _distiller(), _distiller()
    keys = set(compiled.generator.state_dict())
    compile_for_training(compiled.generator)
    assert set(compiled.generator.state_dict()) == keys  # checkpoints stay loadable
    batch = plain._batch()
    compiled.rng.set_state(plain.rng.get_state())
    torch.manual_seed(1)  # EG3D's stochastic ray sampling draws from the global generator
    expected = plain.losses(batch)
    torch.manual_seed(1)
    got = compiled.losses(batch)
    for name, value in expected.items():
        assert torch.allclose(got[name], value, rtol=1e-4, atol=1e-5), name


def test_learning_rate_decays_along_a_cosine_to_the_final_fraction():
    config = DistillConfig(learning_rate=1e-3, total_steps=100, final_lr_fraction=0.1)
    rates = [scheduled_learning_rate(config, step) for step in (0, 50, 100, 500)]
    assert rates[0] == 1e-3
    assert abs(rates[1] - 0.55e-3) < 1e-12  # half-way: the mean of peak and floor
    assert abs(rates[2] - 1e-4) < 1e-12 and rates[3] == rates[2]  # stays at the floor
    constant = DistillConfig(learning_rate=1e-3)
    assert scheduled_learning_rate(constant, 10_000) == 1e-3


def test_a_step_with_a_non_finite_loss_is_skipped_and_leaves_the_weights_alone():
    distiller = _distiller()
    distiller.step()
    before = copy.deepcopy(distiller.generator.state_dict())
    distiller.entries["rgb"][:] = float("nan")  # every batch now has a NaN target
    losses = distiller.step()
    assert losses["skipped"] == 1 and losses["total"] != losses["total"]  # NaN
    after = distiller.generator.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert distiller.step_index == 2 and distiller.state_dict()["skipped_steps"] == 1


def test_set_mean_w_centres_truncation_on_the_mean_w():
    torch.manual_seed(0)
    generator = TriplaneGenerator(CONFIG)
    mean = set_mean_w(generator, count=4000)
    assert torch.equal(generator.backbone.mapping.w_avg, mean)
    zeros = torch.zeros(1, CONFIG.c_dim)
    others = generator.mapping(torch.randn(4000, CONFIG.z_dim), zeros)[:, 0]
    spread = others.std(0).mean()
    assert (others.mean(0) - mean).abs().max() < 0.1 * spread  # the mean of fresh z too
    truncated = generator.mapping(torch.randn(3, CONFIG.z_dim), zeros, truncation_psi=0.0)
    assert torch.allclose(truncated, mean.expand_as(truncated))


def test_a_run_resumes_with_the_architecture_recorded_in_its_state(monkeypatch):
    import argparse

    from ffedit.cli.train import _run_generator_config

    monkeypatch.setitem(PRESETS, "tiny-synthface", SYNTHFACE_Z)

    def args(multiplier=None, channel_min=None):
        return argparse.Namespace(
            preset="tiny-synthface",
            run="runs/x",
            mapping_lr_multiplier=multiplier,
            channel_min=channel_min,
        )

    fresh = _run_generator_config(args(1.0, channel_min=16), None)
    assert fresh.mapping_lr_multiplier == 1.0 != SYNTHFACE_Z.mapping_lr_multiplier
    assert fresh.channel_min == 16 != SYNTHFACE_Z.channel_min
    state = {"generator_config": fresh.to_dict()}
    assert _run_generator_config(args(), state) == fresh  # no flag needed to resume
    assert _run_generator_config(args(1.0, channel_min=16), state) == fresh
    with pytest.raises(ValueError, match=r"another architecture.*mapping_lr_multiplier 1\.0"):
        _run_generator_config(args(0.5), state)
    with pytest.raises(ValueError, match=r"channel_min 16.*--channel-min"):
        _run_generator_config(args(channel_min=8), state)


def test_a_teacher_aligned_mapping_ignores_z_off_the_parameter_directions():
    torch.manual_seed(0)
    generator = TriplaneGenerator(SYNTHFACE_Z)
    align_mapping_to_teacher(generator)
    directions = parameter_directions()
    z = torch.randn(3, LATENT_DIM)
    along = z @ directions @ directions.T
    off = z - along
    other = torch.randn(3, LATENT_DIM)
    other_off = other - other @ directions @ directions.T
    rotated = along + other_off * (off.norm(dim=1) / other_off.norm(dim=1)).unsqueeze(1)
    zeros = torch.zeros(1, SYNTHFACE_Z.c_dim)
    ws = generator.mapping(z, zeros)
    assert torch.allclose(generator.mapping(rotated, zeros), ws, atol=1e-4)  # same norm
    moved = generator.mapping(z + directions[:, 0], zeros)
    assert (moved - ws).abs().max() > 1e-2
    with pytest.raises(ValueError, match="z_dim 512"):
        align_mapping_to_teacher(TriplaneGenerator(CONFIG))


def test_a_teacher_aligned_mapping_steps_at_the_teacher_switches():
    torch.manual_seed(0)
    generator = TriplaneGenerator(SYNTHFACE_Z)
    align_mapping_to_teacher(generator)
    directions = parameter_directions()
    columns, coordinates = switch_points()
    z = torch.randn(LATENT_DIM, generator=torch.Generator().manual_seed(1))
    zeros = torch.zeros(1, SYNTHFACE_Z.c_dim)
    offsets = torch.tensor([-0.02, 0.12, -0.64, -0.5])  # across the switch, then beside it
    for column, coordinate in zip(columns, coordinates, strict=True):
        direction = directions[:, column]
        base = z - direction * (direction @ z)
        scale = base.norm() / LATENT_DIM**0.5  # the mapping normalises z
        latents = base + ((coordinate + offsets) * scale)[:, None] * direction
        ws = generator.mapping(latents, zeros)
        across, beside = (ws[1] - ws[0]).norm(), (ws[3] - ws[2]).norm()
        assert across > 5 * beside, (column, float(across), float(beside))


def test_training_keeps_the_teacher_aligned_layer_fixed_and_resumes_only_with_it():
    distiller = _distiller(teacher_mapping=True)
    mapping = distiller.generator.backbone.mapping
    fc0, fc1 = mapping.fc0.weight.clone(), mapping.fc1.weight.clone()
    bias = mapping.fc0.bias.clone()
    for _ in range(2):
        distiller.step()
    assert torch.equal(mapping.fc0.weight, fc0) and torch.equal(mapping.fc0.bias, bias)
    assert not torch.equal(mapping.fc1.weight, fc1)
    state = copy.deepcopy(distiller.state_dict())
    free = Distiller(
        TriplaneGenerator(SYNTHFACE_Z), _entries(z_dim=LATENT_DIM), DistillConfig(batch_size=2)
    )
    with pytest.raises(ValueError, match="teacher_mapping=True"):
        free.load_state_dict(state)
