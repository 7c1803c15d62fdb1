"""GeometryAdapter: FFaceNeRF's sizes and names, its arithmetic, and its place in rendering."""

import math

import pytest
import torch
import torch.nn.functional as F

from ffedit.adapter import GeometryAdapter
from ffedit.adapter.network import POSITION_CHANNELS, POSITION_FREQUENCIES
from ffedit.camera import named_camera
from ffedit.generator import PRESETS

NFE = PRESETS["nerffaceediting-ffhq512"]


@pytest.mark.parametrize(("classes", "count"), [(17, 4433), (19, 4563), (20, 4628)])
def test_parameter_counts_match_ffacenerf(classes, count):
    adapter = GeometryAdapter.for_generator(NFE, classes)
    assert sum(p.numel() for p in adapter.parameters()) == count
    assert adapter[0].weight.shape == (64, 32 + 16 + 3)


def test_simple_variant_has_2323_parameters_for_19_outputs_from_15_logits():
    adapter = GeometryAdapter.for_generator(NFE, 19, variant="simple")
    assert sum(p.numel() for p in adapter.parameters()) == 2323
    assert adapter[0].weight.shape == (64, 16)


def test_state_dict_names_are_ffacenerfs_and_initialisation_is_equalised_lr():
    torch.manual_seed(0)
    adapter = GeometryAdapter.for_generator(NFE, 19)
    assert list(adapter.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    weight = adapter[0].weight.detach()
    assert abs(float(weight.std()) - 1) < 0.05 and abs(float(weight.mean())) < 0.05
    assert not adapter[0].bias.any() and not adapter[2].bias.any()


def _raw_weights(in_features: int, hidden: int, classes: int) -> dict[str, torch.Tensor]:
    rng = torch.Generator().manual_seed(3)
    return {
        "0.weight": torch.randn(hidden, in_features, generator=rng),
        "0.bias": torch.randn(hidden, generator=rng),
        "2.weight": torch.randn(classes, hidden, generator=rng),
        "2.bias": torch.randn(classes, generator=rng),
    }


def _reference(weights, x):
    """FFaceNeRF's geo_net_appdx written out: equalised-lr FC, Softplus, equalised-lr FC."""
    w0, w2 = weights["0.weight"], weights["2.weight"]
    h = F.softplus(x @ (w0 / math.sqrt(w0.shape[1])).T + weights["0.bias"])
    return h @ (w2 / math.sqrt(w2.shape[1])).T + weights["2.bias"]


@pytest.mark.parametrize("variant", ["injection", "simple"])
def test_ffacenerf_format_weights_load_as_is_and_reproduce_the_reference(variant):
    rng = torch.Generator().manual_seed(4)
    features = torch.randn(2, 7, 32, generator=rng)
    geo = torch.randn(2, 7, 16, generator=rng)
    directions = F.normalize(torch.randn(2, 7, 3, generator=rng), dim=-1)
    adapter = GeometryAdapter.for_generator(NFE, 19, variant=variant)
    in_features = 51 if variant == "injection" else 16
    weights = _raw_weights(in_features, 64, 19)
    adapter.load_state_dict(weights)
    if variant == "injection":
        x = torch.cat([F.softplus(torch.cat([features, geo], -1)), directions], -1)
    else:
        x = F.softplus(geo)
    expected = _reference(weights, x)
    points = torch.rand(2, 7, 3, generator=rng) - 0.5  # ignored by both variants
    assert torch.allclose(adapter(features, geo, directions, points), expected, atol=1e-5)


def test_positional_variant_reads_the_encoded_point_after_the_injection_input():
    rng = torch.Generator().manual_seed(6)
    features, geo = torch.randn(1, 5, 32, generator=rng), torch.randn(1, 5, 16, generator=rng)
    directions = F.normalize(torch.randn(1, 5, 3, generator=rng), dim=-1)
    points = torch.rand(1, 5, 3, generator=rng) - 0.5
    adapter = GeometryAdapter.for_generator(NFE, 19, variant="positional")
    weights = _raw_weights(51 + POSITION_CHANNELS, 64, 19)
    adapter.load_state_dict(weights)
    angles = 2 * math.pi * points[..., None] * torch.tensor(POSITION_FREQUENCIES)
    encoded = torch.cat([points, angles.flatten(-2).sin(), angles.flatten(-2).cos()], -1)
    injection = torch.cat([F.softplus(torch.cat([features, geo], -1)), directions], -1)
    expected = _reference(weights, torch.cat([injection, encoded], -1))
    assert torch.allclose(adapter(features, geo, directions, points), expected, atol=1e-5)
    moved = adapter(features, geo, directions, points + 0.01)
    assert not torch.allclose(moved, expected, atol=1e-3)


def test_as_seg_head_only_the_segmentation_changes(generator):
    adapter = GeometryAdapter.for_generator(generator.config, 5)
    z = torch.randn(2, generator.config.z_dim, generator=torch.Generator().manual_seed(0))
    camera = named_camera("left")[None]
    ws = generator.mapping(z, camera)
    with torch.no_grad():
        plain = generator.render(ws, camera, super_resolve=False)
        adapted = generator.render(ws, camera, super_resolve=False, seg_head=adapter)
    assert adapted.seg_logits.shape == (2, 5, 32, 32)
    assert torch.equal(plain.features, adapted.features)
    assert torch.equal(plain.depth, adapted.depth) and torch.equal(plain.opacity, adapted.opacity)


def test_unknown_variant_is_rejected():
    with pytest.raises(ValueError, match="unknown adapter variant 'deep'"):
        GeometryAdapter(32, 16, 19, variant="deep")
