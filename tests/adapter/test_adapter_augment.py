"""LMTA: only the appearance rows are mixed, 50/50, with a truncated front-camera w; w_avg stays."""

import pytest
import torch

from ffedit.adapter import mix_appearance_ws, random_mixing_ws
from ffedit.camera import named_camera


def test_mixing_touches_only_the_given_rows_half_and_half():
    rng = torch.Generator().manual_seed(0)
    ws, mixing = torch.randn(3, 8, 4, generator=rng), torch.randn(1, 8, 4, generator=rng)
    mixed = mix_appearance_ws(ws, mixing, (5, 6, 7))
    assert torch.equal(mixed[:, :5], ws[:, :5])
    assert torch.allclose(mixed[:, 5:], (ws[:, 5:] + mixing[:, 5:]) / 2)
    assert not torch.equal(ws[:, 5:], mixed[:, 5:])  # the input is not modified in place


def test_mixing_rejects_rows_outside_ws():
    ws = torch.zeros(1, 8, 4)
    with pytest.raises(ValueError, match=r"\[0, 7\]"):
        mix_appearance_ws(ws, ws, (8,))


def test_random_mixing_ws_is_truncated_toward_w_avg_and_never_updates_it(generator):
    mapping = generator.backbone.mapping
    w_avg = mapping.w_avg.clone()
    with torch.no_grad():
        mapping.w_avg.copy_(torch.randn_like(w_avg))  # a non-zero mean makes truncation visible
    try:
        before = mapping.w_avg.clone()
        z = torch.randn(1, generator.config.z_dim, generator=torch.Generator().manual_seed(1))
        mixing = random_mixing_ws(generator, z)
        assert torch.equal(mapping.w_avg, before)
        w = generator.mapping(z, named_camera("front")[None])
        assert torch.allclose(mixing, before + 0.7 * (w - before), atol=1e-6)
    finally:
        with torch.no_grad():
            mapping.w_avg.copy_(w_avg)
