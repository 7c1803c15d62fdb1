"""The mapping network: normalisation, truncation, the w_avg EMA and camera conditioning."""

import dataclasses

import pytest
import torch

from ffedit.camera import named_camera
from ffedit.generator import PRESETS, TriplaneGenerator
from ffedit.generator.mapping import MappingNetwork


@pytest.fixture
def mapping():
    torch.manual_seed(0)
    network = MappingNetwork(8, 25, 16, 6, num_layers=2, lr_multiplier=0.01, w_avg_beta=0.9)
    with torch.no_grad():
        network.w_avg.normal_()
    return network


def _inputs(batch=3):
    return torch.randn(batch, 8), named_camera("front").expand(batch, 25)


def test_state_names_and_shapes(mapping):
    shapes = {name: tuple(t.shape) for name, t in mapping.state_dict().items()}
    assert shapes == {
        "w_avg": (16,),
        "embed.weight": (16, 25),
        "embed.bias": (16,),
        "fc0.weight": (16, 24),
        "fc0.bias": (16,),
        "fc1.weight": (16, 16),
        "fc1.bias": (16,),
    }


def test_ws_are_one_w_broadcast_and_ignore_the_scale_of_z(mapping):
    z, c = _inputs()
    ws = mapping(z, c)
    assert ws.shape == (3, 6, 16)
    assert torch.equal(ws, ws[:, :1].expand(-1, 6, -1))
    assert torch.allclose(mapping(5 * z, c), ws, atol=1e-5)


def test_truncation_psi_zero_gives_w_avg_and_cutoff_limits_rows(mapping):
    z, c = _inputs()
    full = mapping(z, c)
    assert torch.allclose(mapping(z, c, truncation_psi=0.0), mapping.w_avg.expand(3, 6, 16))
    half = mapping(z, c, truncation_psi=0.5, truncation_cutoff=2)
    assert torch.allclose(half[:, :2], (full[:, :2] + mapping.w_avg) / 2, atol=1e-6)
    assert torch.equal(half[:, 2:], full[:, 2:])


def test_update_emas_moves_w_avg_toward_the_batch_mean(mapping):
    z, c = _inputs()
    before = mapping.w_avg.clone()
    ws = mapping(z, c)
    assert torch.equal(mapping.w_avg, before)
    mapping(z, c, update_emas=True)
    assert torch.allclose(mapping.w_avg, before * 0.9 + ws[:, 0].mean(0) * 0.1, atol=1e-6)


def test_bad_shapes_raise(mapping):
    with pytest.raises(ValueError, match="z must be"):
        mapping(torch.randn(2, 7), named_camera("front").expand(2, 25))
    with pytest.raises(ValueError, match="c must be"):
        mapping(torch.randn(2, 8), torch.zeros(2, 16))


def test_generator_mapping_scales_or_zeroes_the_camera():
    config = PRESETS["tiny"]
    torch.manual_seed(1)
    generator = TriplaneGenerator(config)
    z = torch.randn(2, config.z_dim)
    front, left = named_camera("front")[None], named_camera("left")[None]
    assert not torch.allclose(generator.mapping(z, front), generator.mapping(z, left))
    assert torch.allclose(generator.mapping(z, front), generator.backbone.mapping(z, front))

    zeroed = dataclasses.replace(config, c_gen_conditioning_zero=True)
    torch.manual_seed(1)
    generator = TriplaneGenerator(zeroed)
    assert torch.equal(generator.mapping(z, front), generator.mapping(z, left))
    assert torch.equal(generator.mapping(z, front), generator.backbone.mapping(z, 0 * front))
