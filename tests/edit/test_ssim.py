import pytest
import torch

from ffedit.edit.ssim import gaussian_window, window_ssim

C1, C2 = (0.01 * 2) ** 2, (0.03 * 2) ** 2


def _windows(values: torch.Tensor) -> torch.Tensor:
    """(P, 7, 7) grey windows → (P, 49, 3) with the same value in every channel."""
    return values.reshape(len(values), -1, 1).expand(-1, -1, 3)


def test_gaussian_window_is_normalised_and_peaks_in_the_centre():
    window = gaussian_window(7)
    assert window.shape == (49,) and torch.isclose(window.sum(), torch.tensor(1.0))
    assert int(window.argmax()) == 24


def test_identical_windows_score_one():
    x = torch.rand(5, 49, 3) * 2 - 1
    assert torch.allclose(window_ssim(x, x), torch.ones(5))


def test_constant_windows_give_the_luminance_term():
    a, b = 0.5, -0.2
    x = torch.full((1, 49, 3), a)
    y = torch.full((1, 49, 3), b)
    expected = (2 * a * b + C1) / (a * a + b * b + C1)
    assert window_ssim(x, y).item() == pytest.approx(expected, rel=1e-4)


def test_negated_zero_mean_pattern_gives_the_structure_term():
    checker = (torch.arange(49) % 2 * 2 - 1).float() * 0.4  # ±0.4, alternating
    x = _windows(checker[None])
    weights = gaussian_window(7)
    mean = (weights * checker).sum()
    variance = (weights * checker**2).sum() - mean**2
    luminance = (-2 * mean**2 + C1) / (2 * mean**2 + C1)
    structure = (-2 * variance + C2) / (2 * variance + C2)
    assert window_ssim(x, -x).item() == pytest.approx(float(luminance * structure), rel=1e-4)
    assert window_ssim(x, -x).item() < -0.9


def test_noise_lowers_ssim_monotonically():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(8, 49, 3, generator=generator) * 2 - 1
    noise = torch.randn(8, 49, 3, generator=generator)
    scores = [window_ssim(x, x + level * noise).mean().item() for level in (0.01, 0.1, 0.5)]
    assert 1 > scores[0] > scores[1] > scores[2]


def test_mismatched_windows_are_refused():
    with pytest.raises(ValueError):
        window_ssim(torch.zeros(2, 49, 3), torch.zeros(2, 48, 3))
