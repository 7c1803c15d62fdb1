"""Synthesis layers and blocks: modulated conv against EG3D's grouped ('fused') form, the
w-index table, noise modes and demodulation."""

import pytest
import torch
import torch.nn.functional as F

from ffedit.generator.layers import bias_act
from ffedit.generator.resample import fir_filter2d, upsample2d
from ffedit.generator.synthesis import SynthesisLayer, SynthesisNetwork, ToRGBLayer

_KERNEL = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64


def _fused_modconv(x, weight, styles, *, demodulate, up):
    """EG3D's inference path: per-sample weights, batch as conv groups."""
    batch, in_channels, height, width = x.shape
    out_channels = weight.shape[0]
    w = weight.unsqueeze(0) * styles.reshape(batch, 1, -1, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(batch, -1, 1, 1, 1)
    x = x.reshape(1, batch * in_channels, height, width)
    if up:
        w = w.transpose(1, 2).reshape(batch * in_channels, out_channels, 3, 3)
        x = F.conv_transpose2d(x, w, stride=2, groups=batch)
        x = fir_filter2d(x, _KERNEL, (1, 1, 1, 1), gain=4.0)
    else:
        w = w.reshape(batch * out_channels, in_channels, *weight.shape[2:])
        x = F.conv2d(x, w, padding=weight.shape[-1] // 2, groups=batch)
    return x.reshape(batch, out_channels, *x.shape[2:])


def _randomise(module):
    with torch.no_grad():
        for param in module.parameters():
            param.normal_()


def test_synthesis_layer_equals_fused_grouped_reference():
    torch.manual_seed(0)
    for up in (False, True):
        layer = SynthesisLayer(6, 5, 8, 8 if up else 4, up=up, conv_clamp=3.0)
        _randomise(layer)
        x, w = torch.randn(3, 6, 4, 4), torch.randn(3, 8)
        styles = layer.affine(w)
        expected = _fused_modconv(x, layer.weight, styles, demodulate=True, up=up)
        expected = bias_act(expected + layer.noise_const * layer.noise_strength, layer.bias,
                            lrelu=True, clamp=3.0)  # fmt: skip
        assert torch.allclose(layer(x, w, "const"), expected, atol=1e-5)


def test_torgb_equals_fused_reference_without_demodulation():
    torch.manual_seed(1)
    layer = ToRGBLayer(6, 4, 8)
    _randomise(layer)
    x, w = torch.randn(2, 6, 5, 5), torch.randn(2, 8)
    styles = layer.affine(w) / 6**0.5
    expected = _fused_modconv(x, layer.weight, styles, demodulate=False, up=False)
    expected = expected + layer.bias.reshape(1, -1, 1, 1)
    assert torch.allclose(layer(x, w), expected, atol=1e-5)


def test_demodulation_makes_the_layer_invariant_to_weight_scale():
    torch.manual_seed(2)
    layer = SynthesisLayer(4, 4, 8, 8, up=True)
    x, w = torch.randn(1, 4, 4, 4), torch.randn(1, 8)
    before = layer(x, w, "none")
    with torch.no_grad():
        layer.weight.mul_(5.0)
    assert torch.allclose(layer(x, w, "none"), before, atol=1e-5)


def test_noise_modes():
    torch.manual_seed(3)
    layer = SynthesisLayer(4, 4, 8, 4)
    x, w = torch.randn(2, 4, 4, 4), torch.randn(2, 8)
    assert torch.equal(layer(x, w, "const"), layer(x, w, "none"))  # noise_strength starts at 0
    with torch.no_grad():
        layer.noise_strength.fill_(0.5)
    assert torch.equal(layer(x, w, "const"), layer(x, w, "const"))
    assert not torch.allclose(layer(x, w, "const"), layer(x, w, "none"))
    assert not torch.allclose(layer(x, w, "random"), layer(x, w, "random"))


def test_each_block_reads_its_ws_rows_and_torgb_shares_the_next_first_w():
    torch.manual_seed(4)
    network = SynthesisNetwork(8, 32, 6, channel_base=64, channel_max=8)
    assert network.num_ws == 8
    ws = torch.arange(8.0).reshape(1, 8, 1).repeat(1, 1, 8)
    seen = {}
    for name, module in network.named_modules():
        if isinstance(module, SynthesisLayer | ToRGBLayer):
            module.register_forward_hook(
                lambda mod, args, out, name=name: seen.__setitem__(name, args[1][0, 0].item())
            )
    network(ws)
    expected = {
        "b4.conv1": 0, "b4.torgb": 1, "b8.conv0": 1, "b8.conv1": 2, "b8.torgb": 3,
        "b16.conv0": 3, "b16.conv1": 4, "b16.torgb": 5, "b32.conv0": 5, "b32.conv1": 6,
        "b32.torgb": 7,
    }  # fmt: skip
    assert seen == expected


def test_network_output_is_the_upsampled_sum_of_torgb_outputs():
    torch.manual_seed(5)
    network = SynthesisNetwork(8, 16, 3, channel_base=64, channel_max=8)
    ws = torch.randn(2, network.num_ws, 8)
    img = network(ws)
    assert img.shape == (2, 3, 16, 16)
    with torch.no_grad():  # zero the last ToRGB: the output is the up-sampled b8 image
        network.b16.torgb.weight.zero_()
        network.b16.torgb.bias.zero_()
    x = img8 = None
    for block, rows in ((network.b4, ws[:, 0:2]), (network.b8, ws[:, 1:4])):
        x, img8 = block(x, img8, rows, "const")
    assert torch.allclose(network(ws), upsample2d(img8, _KERNEL), atol=1e-5)


def test_wrong_ws_shape_and_noise_mode_raise():
    network = SynthesisNetwork(8, 8, 3, channel_base=64, channel_max=8)
    with pytest.raises(ValueError, match="ws must be"):
        network(torch.randn(1, 3, 8))
    with pytest.raises(ValueError, match="noise_mode"):
        network(torch.randn(1, network.num_ws, 8), "sometimes")


def test_channel_min_widens_only_the_blocks_below_it():
    def widths(network):
        return [block.conv1.weight.shape[0] for block in network.blocks()]

    plain = SynthesisNetwork(16, 64, 24, channel_base=512, channel_max=32)
    wide = SynthesisNetwork(16, 64, 24, channel_base=512, channel_max=32, channel_min=24)
    assert widths(plain) == [32, 32, 32, 16, 8]  # 512 // r, capped at 32: b4 … b64
    assert widths(wide) == [32, 32, 32, 24, 24]
    assert (plain.b64.conv0.weight.shape[1], wide.b64.conv0.weight.shape[1]) == (16, 24)
    ws = torch.randn(2, wide.num_ws, 16)
    assert wide(ws).shape == plain(ws).shape == (2, 24, 64, 64)
