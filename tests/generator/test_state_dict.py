"""The NeRFFaceEditing preset's state_dict is name-for-name and shape-for-shape the official
G_ema (method.md §8): 180 entries, 30,665,223 parameters."""

import pytest
import torch

from ffedit.generator import PRESETS, TriplaneGenerator


def _layer(prefix, in_channels, out_channels, resolution, w_dim):
    return {
        f"{prefix}.weight": (out_channels, in_channels, 3, 3),
        f"{prefix}.noise_strength": (),
        f"{prefix}.bias": (out_channels,),
        f"{prefix}.resample_filter": (4, 4),
        f"{prefix}.noise_const": (resolution, resolution),
        f"{prefix}.affine.weight": (in_channels, w_dim),
        f"{prefix}.affine.bias": (in_channels,),
    }


def _torgb(prefix, in_channels, out_channels, w_dim):
    return {
        f"{prefix}.weight": (out_channels, in_channels, 1, 1),
        f"{prefix}.bias": (out_channels,),
        f"{prefix}.affine.weight": (in_channels, w_dim),
        f"{prefix}.affine.bias": (in_channels,),
    }


def _block(prefix, in_channels, out_channels, resolution, img_channels, w_dim):
    table = {f"{prefix}.resample_filter": (4, 4)}
    if in_channels == 0:
        table[f"{prefix}.const"] = (out_channels, resolution, resolution)
    else:
        table |= _layer(f"{prefix}.conv0", in_channels, out_channels, resolution, w_dim)
    table |= _layer(f"{prefix}.conv1", out_channels, out_channels, resolution, w_dim)
    return table | _torgb(f"{prefix}.torgb", out_channels, img_channels, w_dim)


def official_g_ema_shapes():
    """The table of method.md §8, built from its rules (EG3D ffhq, NeRFFaceEditing decoders)."""
    w_dim = 512
    table = {
        "backbone.mapping.embed.weight": (512, 25),
        "backbone.mapping.embed.bias": (512,),
        "backbone.mapping.fc0.weight": (512, 1024),
        "backbone.mapping.fc0.bias": (512,),
        "backbone.mapping.fc1.weight": (512, 512),
        "backbone.mapping.fc1.bias": (512,),
        "backbone.mapping.w_avg": (512,),
    }
    channels = {res: min(32768 // res, 512) for res in (4, 8, 16, 32, 64, 128, 256)}
    assert [channels[r] for r in (64, 128, 256)] == [512, 256, 128]
    for res in channels:
        in_channels = channels[res // 2] if res > 4 else 0
        table |= _block(f"backbone.synthesis.b{res}", in_channels, channels[res], res, 96, w_dim)
    table |= _block("superresolution.block0", 32, 256, 256, 3, w_dim)
    table |= _block("superresolution.block1", 256, 128, 512, 3, w_dim)
    for name, out_features in (("geo_net", 16), ("app_net", 32)):
        table |= {
            f"decoder.{name}.0.weight": (64, 32),
            f"decoder.{name}.0.bias": (64,),
            f"decoder.{name}.2.weight": (out_features, 64),
            f"decoder.{name}.2.bias": (out_features,),
        }
    return table


@pytest.fixture(scope="module")
def official_size_generator():
    return TriplaneGenerator(PRESETS["nerffaceediting-ffhq512"])


def test_state_dict_names_and_shapes_are_the_official_g_ema(official_size_generator):
    expected = official_g_ema_shapes()
    actual = {name: tuple(t.shape) for name, t in official_size_generator.state_dict().items()}
    assert len(expected) == 180
    assert sorted(set(expected) ^ set(actual)) == []
    assert actual == expected


def test_parameter_counts(official_size_generator):
    def count(module):
        return sum(p.numel() for p in module.parameters())

    generator = official_size_generator
    assert count(generator) == 30_665_223
    assert count(generator.backbone.synthesis) == 28_207_533
    assert count(generator.backbone.mapping) == 800_768
    assert count(generator.superresolution) == 1_649_578
    assert generator.backbone.synthesis.num_ws == generator.config.num_ws == 14


def test_buffers_and_initial_values_follow_eg3d(official_size_generator):
    state = official_size_generator.state_dict()
    taps = torch.tensor([1.0, 3, 3, 1])
    assert torch.equal(state["backbone.synthesis.b8.conv0.resample_filter"] * 64,
                       torch.outer(taps, taps))  # fmt: skip
    assert torch.equal(state["backbone.mapping.w_avg"], torch.zeros(512))
    assert torch.equal(state["backbone.synthesis.b4.conv1.affine.bias"], torch.ones(512))
    assert state["backbone.synthesis.b64.conv1.noise_strength"].item() == 0.0
    assert abs(state["backbone.mapping.fc0.weight"].std().item() - 100.0) < 1.0  # N(0,1)/0.01
    buffers = {name for name, _ in official_size_generator.named_buffers()}
    # w_avg; a filter per block; a filter and noise_const per conv layer (13 backbone, 4 SR)
    assert len(buffers) == 1 + 7 + 2 * 13 + 2 + 2 * 4
