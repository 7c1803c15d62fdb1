"""NeRFFaceEditing's plane normalisation: statistics, normalisation and imposed statistics."""

import pytest
import torch

from ffedit.generator.planes import (
    PlaneStatistics,
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


def _branch_planes(split, branch):
    """The planes a decoder reads: normalised·scale + shift of one branch, materialised."""
    scale = split.branch_scale[..., branch, None, None]
    shift = split.branch_shift[..., branch, None, None]
    return split.normalized * scale + shift


def test_normalised_planes_have_zero_mean_unit_std_and_the_appearance_branch_restores_them():
    planes = _planes()
    split = split_planes(planes)
    norm_stats = plane_statistics(split.normalized)
    assert torch.allclose(norm_stats.mean, torch.zeros(2, 12), atol=1e-5)
    assert torch.allclose(norm_stats.std, torch.ones(2, 12), atol=1e-5)
    assert torch.equal(_branch_planes(split, 0), split.normalized)
    assert torch.allclose(_branch_planes(split, 1), planes, atol=1e-5)


def test_own_statistics_imposed_is_exactly_a_no_op():
    planes = _planes()
    own = split_planes(planes)
    imposed = split_planes(planes, plane_statistics(planes))
    for name in ("normalized", "branch_scale", "branch_shift"):
        assert torch.equal(getattr(own, name), getattr(imposed, name)), name


def test_imposed_statistics_change_only_the_appearance_branch():
    planes = _planes()
    other = plane_statistics(_planes() * 3 + 1)
    swapped = PlaneStatistics(other.mean.flip(0), other.std.flip(0))
    split = split_planes(planes, swapped)
    own = split_planes(planes)
    assert torch.equal(split.normalized, own.normalized)
    assert torch.equal(_branch_planes(split, 0), _branch_planes(own, 0))
    result = plane_statistics(_branch_planes(split, 1))
    assert torch.allclose(result.mean, swapped.mean, atol=1e-4)
    assert torch.allclose(result.std, swapped.std, atol=1e-4)
    assert torch.equal(split.statistics.mean, own.statistics.mean)  # reports the raw stats


def test_one_row_of_statistics_broadcasts_and_wrong_shapes_raise():
    planes = _planes()
    stats = plane_statistics(planes)
    first = PlaneStatistics(stats.mean[:1], stats.std[:1])
    split = split_planes(planes, first)
    assert split.branch_scale.shape == (1, 3, 4, 2)
    alone = split_planes(planes[:1])
    assert torch.allclose(_branch_planes(split, 1)[0], _branch_planes(alone, 1)[0])
    with pytest.raises(ValueError, match="plane_stats mean"):
        split_planes(planes, PlaneStatistics(stats.mean[:, :5], stats.std))


def test_normalised_planes_are_channels_last_and_equal_plain_normalisation():
    planes = _planes()
    split = split_planes(planes)
    assert torch.equal(split.normalized, normalize_planes(planes, plane_statistics(planes)))
    assert split.normalized.permute(0, 1, 3, 4, 2).is_contiguous()
