"""NeRFFaceEditing's plane normalisation: statistics, normalisation and imposed statistics."""

import pytest
import torch

from ffedit.generator.planes import (
    PlaneStatistics,
    denormalize_planes,
    normalize_planes,
    plane_statistics,
    split_planes,
)


def _planes(batch=2, channels=4, size=6):
    torch.manual_seed(0)
    scale = torch.rand(batch, 3, channels, 1, 1) * 3 + 0.5
    shift = torch.randn(batch, 3, channels, 1, 1) * 2
    return torch.randn(batch, 3, channels, size, size) * scale + shift


def test_statistics_are_per_channel_mean_and_unbiased_std():
    planes = _planes()
    stats = plane_statistics(planes)
    assert stats.mean.shape == stats.std.shape == (2, 12)
    channel = planes[1, 2, 3].flatten()
    assert torch.isclose(stats.mean[1, 2 * 4 + 3], channel.mean())
    assert torch.isclose(stats.std[1, 2 * 4 + 3], channel.std(unbiased=True))


def test_normalised_half_has_zero_mean_unit_std_and_appearance_half_restores_planes():
    planes = _planes()
    split = split_planes(planes)
    normalized, appearance = split.stacked.split(4, dim=2)
    norm_stats = plane_statistics(normalized)
    assert torch.allclose(norm_stats.mean, torch.zeros(2, 12), atol=1e-5)
    assert torch.allclose(norm_stats.std, torch.ones(2, 12), atol=1e-5)
    assert torch.allclose(appearance, planes, atol=1e-5)


def test_own_statistics_imposed_is_exactly_a_no_op():
    planes = _planes()
    own = split_planes(planes)
    imposed = split_planes(planes, plane_statistics(planes))
    assert torch.equal(own.stacked, imposed.stacked)


def test_imposed_statistics_change_only_the_appearance_half():
    planes = _planes()
    other = plane_statistics(_planes() * 3 + 1)
    swapped = PlaneStatistics(other.mean.flip(0), other.std.flip(0))
    split = split_planes(planes, swapped)
    own = split_planes(planes)
    assert torch.equal(split.stacked[:, :, :4], own.stacked[:, :, :4])
    result = plane_statistics(split.stacked[:, :, 4:])
    assert torch.allclose(result.mean, swapped.mean, atol=1e-4)
    assert torch.allclose(result.std, swapped.std, atol=1e-4)
    assert torch.equal(split.statistics.mean, own.statistics.mean)  # reports the raw stats


def test_one_row_of_statistics_broadcasts_and_wrong_shapes_raise():
    planes = _planes()
    stats = plane_statistics(planes)
    first = PlaneStatistics(stats.mean[:1], stats.std[:1])
    split = split_planes(planes, first)
    assert torch.allclose(split.stacked[0], split_planes(planes[:1]).stacked[0])
    with pytest.raises(ValueError, match="plane_stats mean"):
        split_planes(planes, PlaneStatistics(stats.mean[:, :5], stats.std))


def test_stacked_planes_are_channels_last_and_equal_the_plain_concatenation():
    planes = _planes()
    stats = plane_statistics(planes)
    split = split_planes(planes)
    normalized = normalize_planes(planes, stats)
    plain = torch.cat([normalized, denormalize_planes(normalized, stats)], dim=2)
    assert torch.equal(split.stacked, plain)
    assert split.stacked.permute(0, 1, 3, 4, 2).is_contiguous()
