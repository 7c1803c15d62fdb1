"""Cross-entropy and FFaceNeRF's Dice overlap loss on hand-computed cases."""

import math

import pytest
import torch

from ffedit.adapter import cross_entropy_loss, overlap_loss, segmentation_losses

BIG = 50.0  # logits this far apart give probabilities 0 and 1 to float precision


def _confident(labels: list[int], classes: int) -> torch.Tensor:
    """Logits (1, N, K) that predict `labels` with certainty."""
    return torch.nn.functional.one_hot(torch.tensor([labels]), classes).float() * BIG


def test_dice_of_a_perfect_prediction_is_zero_for_every_class_even_absent_ones():
    labels = torch.tensor([[0, 0, 1, 2]])
    assert overlap_loss(_confident([0, 0, 1, 2], 4), labels).item() == pytest.approx(0, abs=1e-6)


def test_dice_hand_computed_with_smooth_one():
    # Prediction [0, 1, 1, 1] vs target [0, 0, 1, 2], K = 3:
    # class 0: (2·1 + 1)/(1 + 2 + 1) = 3/4; class 1: (2·1 + 1)/(3 + 1 + 1) = 3/5;
    # class 2: (0 + 1)/(0 + 1 + 1) = 1/2 → loss 1 − (3/4 + 3/5 + 1/2)/3.
    loss = overlap_loss(_confident([0, 1, 1, 1], 3), torch.tensor([[0, 0, 1, 2]]))
    assert loss.item() == pytest.approx(1 - (0.75 + 0.6 + 0.5) / 3, abs=1e-6)


def test_dice_with_uniform_probabilities_and_batch_mean():
    # Uniform P = 1/2 over K = 2, N = 2 pixels, labels [0, 0] in image 0, [0, 1] in image 1.
    # Image 0: class 0 (2·1 + 1)/(1 + 2 + 1) = 3/4, class 1 (0 + 1)/(1 + 0 + 1) = 1/2.
    # Image 1: both classes (2·½ + 1)/(1 + 1 + 1) = 2/3.
    logits = torch.zeros(2, 2, 2)
    loss = overlap_loss(logits, torch.tensor([[0, 0], [0, 1]]))
    expected = ((1 - (0.75 + 0.5) / 2) + (1 - 2 / 3)) / 2
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_integer_pixel_weights_equal_repeating_pixels():
    rng = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 4, generator=rng)
    labels = torch.randint(4, (2, 5), generator=rng)
    weights = torch.tensor([[1, 3, 2, 1, 4], [2, 2, 1, 1, 1]])
    repeated = [torch.repeat_interleave(torch.arange(5), weights[b]) for b in range(2)]
    for b in range(2):
        rows = repeated[b]
        assert overlap_loss(
            logits[b : b + 1], labels[b : b + 1], weights[b : b + 1].float()
        ).item() == pytest.approx(
            overlap_loss(logits[b : b + 1, rows], labels[b : b + 1, rows]).item()
        )
        assert cross_entropy_loss(
            logits[b : b + 1], labels[b : b + 1], weights[b : b + 1].float()
        ).item() == pytest.approx(
            cross_entropy_loss(logits[b : b + 1, rows], labels[b : b + 1, rows]).item()
        )


def test_cross_entropy_of_uniform_logits_is_log_k_and_total_adds_lambda_dice():
    logits, labels = torch.zeros(1, 6, 5), torch.zeros(1, 6, dtype=torch.int64)
    losses = segmentation_losses(logits, labels, overlap_weight=0.1)
    assert losses.cross_entropy.item() == pytest.approx(math.log(5))
    assert losses.total.item() == pytest.approx(math.log(5) + 0.1 * losses.overlap.item())


def test_shapes_are_checked():
    with pytest.raises(ValueError, match=r"\(B, N, K\)"):
        overlap_loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.int64))
