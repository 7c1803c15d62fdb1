"""Stratified and importance sampling, deterministic and stochastic."""

import torch

from ffedit.render import (
    importance_depths,
    merge_samples,
    sample_pdf,
    smooth_weights,
    stratified_depths,
)


def test_deterministic_stratified_is_linspace():
    depths = stratified_depths(2, 3, 2.25, 3.3, 48, deterministic=True)
    assert depths.shape == (2, 3, 48, 1)
    assert torch.equal(depths[1, 2, :, 0], torch.linspace(2.25, 3.3, 48))


def test_stochastic_stratified_jitters_within_one_bin_and_is_seedable():
    make = lambda seed: stratified_depths(  # noqa: E731
        1, 100, 2.0, 3.0, 11, deterministic=False, generator=torch.Generator().manual_seed(seed)
    )
    depths = make(0)
    offsets = depths[0, :, :, 0] - torch.linspace(2.0, 3.0, 11)
    assert (offsets >= 0).all() and (offsets <= 0.1 + 1e-6).all()
    assert offsets.std() > 0.02
    assert torch.equal(depths, make(0)) and not torch.equal(depths, make(1))


def test_smoothing_is_max_then_average_plus_floor():
    weights = torch.tensor([[0.0, 1.0, 0.0, 0.0, 0.5]])
    # max-pool(2,1,pad 1): [0,1,1,0,0.5,0.5]; avg-pool(2,1): [0.5,1,0.5,0.25,0.5]
    expected = torch.tensor([[0.5, 1.0, 0.5, 0.25, 0.5]]) + 0.01
    assert torch.allclose(smooth_weights(weights), expected)


def test_deterministic_pdf_of_uniform_weights_is_evenly_spaced():
    bins = torch.linspace(0.0, 1.0, 6).expand(2, 6)
    samples = sample_pdf(bins, torch.ones(2, 5), 11, deterministic=True)
    assert torch.allclose(samples, torch.linspace(0.0, 1.0, 11).expand(2, 11), atol=1e-5)


def test_pdf_samples_fall_in_the_weighted_bin():
    bins = torch.linspace(0.0, 5.0, 6).unsqueeze(0)
    weights = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]])
    for deterministic in (True, False):
        samples = sample_pdf(bins, weights, 64, deterministic=deterministic)
        inside = ((samples >= 2.0) & (samples <= 3.0)).float().mean()
        assert inside > 0.95  # u = 0 and u = 1 land on the ends of the range


def test_pdf_ignores_bins_beyond_the_weights_as_eg3d_does():
    bins = torch.linspace(0.0, 6.0, 7).unsqueeze(0)  # 6 intervals, only 4 weighted
    samples = sample_pdf(bins, torch.ones(1, 4), 9, deterministic=True)
    assert samples.max().item() <= 4.0 + 1e-6
    assert torch.allclose(samples[0], torch.linspace(0.0, 4.0, 9), atol=1e-4)


def test_importance_depths_concentrate_where_the_weights_are():
    depths = stratified_depths(1, 1, 2.0, 3.0, 21, deterministic=True)
    mids = 0.5 * (depths[:, :, :-1] + depths[:, :, 1:])
    weights = torch.exp(-(((mids - 2.5) / 0.02) ** 2))
    fine = importance_depths(depths, weights, 32, deterministic=True)
    assert fine.shape == (1, 1, 32, 1)
    assert ((fine - 2.5).abs() < 0.12).float().mean() > 0.75
    assert torch.all(fine[0, 0, 1:, 0] >= fine[0, 0, :-1, 0])


def test_merge_sorts_depths_and_carries_values():
    a = torch.tensor([1.0, 3.0, 5.0]).reshape(1, 1, 3, 1)
    b = torch.tensor([2.0, 4.0]).reshape(1, 1, 2, 1)
    depths, values = merge_samples(a, a * 10, b, b * 10)
    assert torch.equal(depths.flatten(), torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert torch.equal(values, depths * 10)
