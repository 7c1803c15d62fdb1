"""Equalised-lr fully connected layers, bias_act and 2nd-moment normalisation."""

import math

import torch

from ffedit.generator.layers import FullyConnectedLayer, bias_act, normalize_2nd_moment


def test_linear_layer_uses_runtime_gains_of_equalised_lr():
    torch.manual_seed(0)
    layer = FullyConnectedLayer(6, 4, lr_multiplier=0.01, bias_init=0.5)
    assert torch.allclose(layer.bias, torch.full([4], 0.5))
    x = torch.randn(3, 6)
    expected = x @ (layer.weight * 0.01 / math.sqrt(6)).t() + layer.bias * 0.01
    assert torch.allclose(layer(x), expected, atol=1e-6)


def test_stored_weight_is_scaled_by_inverse_lr_multiplier():
    torch.manual_seed(0)
    layer = FullyConnectedLayer(256, 256, lr_multiplier=0.01)
    assert abs(layer.weight.std().item() - 100.0) < 2.0


def test_lrelu_layer_is_leaky_relu_times_sqrt2_after_bias():
    torch.manual_seed(0)
    layer = FullyConnectedLayer(5, 3, activation="lrelu", bias_init=0.25)
    x = torch.randn(7, 5)
    pre = x @ (layer.weight / math.sqrt(5)).t() + 0.25
    expected = torch.where(pre > 0, pre, 0.2 * pre) * math.sqrt(2)
    assert torch.allclose(layer(x), expected, atol=1e-6)


def test_layer_accepts_any_leading_shape():
    layer = FullyConnectedLayer(4, 2)
    x = torch.randn(2, 3, 4)
    assert torch.allclose(layer(x)[1, 2], layer(x[1, 2][None])[0], atol=1e-6)


def test_bias_act_clamps_after_gain_along_channel_dim():
    x = torch.tensor([[[[10.0]], [[-10.0]]]])  # (1, 2, 1, 1)
    bias = torch.tensor([1.0, -1.0])
    out = bias_act(x, bias, lrelu=True, clamp=5.0)
    assert out[0, 0, 0, 0].item() == 5.0  # 11·√2 clamped
    assert math.isclose(out[0, 1, 0, 0].item(), -11 * 0.2 * math.sqrt(2), rel_tol=1e-6)
    assert torch.equal(bias_act(x, bias, lrelu=False), x + bias.reshape(1, 2, 1, 1))


def test_normalize_2nd_moment_gives_unit_mean_square_and_ignores_scale():
    x = torch.randn(4, 16)
    y = normalize_2nd_moment(x)
    assert torch.allclose(y.square().mean(dim=1), torch.ones(4), atol=1e-5)
    assert torch.allclose(normalize_2nd_moment(7 * x), y, atol=1e-6)
