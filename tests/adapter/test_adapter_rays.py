"""Class-stratified ray selection: equal shares, rare classes whole, weights that add up."""

import torch

from ffedit.adapter.rays import class_quotas, stratified_rays


def test_quotas_share_equally_and_give_unused_shares_to_larger_classes():
    counts = torch.tensor([1000, 3, 0, 40, 500])
    quotas = class_quotas(counts, 100)
    # 4 classes present: 25 each; class 1 gives 22 back → 3 classes share 97: 32, 32, 33.
    assert quotas.tolist() == [33, 3, 0, 32, 32]
    assert int(quotas.sum()) == 100


def test_quotas_take_everything_when_the_budget_exceeds_the_pixels():
    counts = torch.tensor([5, 0, 2])
    assert class_quotas(counts, 100).tolist() == [5, 0, 2]


def test_quotas_remainder_goes_to_the_largest_classes():
    assert class_quotas(torch.tensor([10, 20, 30]), 5).tolist() == [1, 2, 2]


def test_selection_keeps_a_rare_class_whole_and_weights_sum_to_the_pixels():
    labels = torch.zeros(1000, dtype=torch.int64)
    labels[:4] = 2
    labels[500:700] = 1
    rng = torch.Generator().manual_seed(0)
    chosen = stratified_rays(labels, 64, rng)
    assert len(chosen.indices) == 64 and len(set(chosen.indices.tolist())) == 64
    chosen_labels = labels[chosen.indices]
    assert (chosen_labels == 2).sum() == 4 and (chosen_labels == 1).sum() == 30
    for c, count in [(0, 796), (1, 200), (2, 4)]:
        assert abs(float(chosen.pixel_weights[chosen_labels == c].sum()) - count) < 1e-3


def test_a_selection_of_a_selection_keeps_standing_for_the_whole_image():
    labels = torch.randint(0, 5, (4096,), generator=torch.Generator().manual_seed(1))
    labels[labels == 4] = 0
    labels[:3] = 4
    rng = torch.Generator().manual_seed(2)
    pool = stratified_rays(labels, 512, rng)
    step = stratified_rays(labels[pool.indices], 64, rng, pool.pixel_weights)
    picked = labels[pool.indices][step.indices]
    for c in range(5):
        expected = float((labels == c).sum())
        assert abs(float(step.pixel_weights[picked == c].sum()) - expected) < 1e-3 * expected


def test_selection_is_random_but_seeded():
    labels = torch.arange(100) % 3
    first = stratified_rays(labels, 10, torch.Generator().manual_seed(5)).indices
    again = stratified_rays(labels, 10, torch.Generator().manual_seed(5)).indices
    other = stratified_rays(labels, 10, torch.Generator().manual_seed(6)).indices
    assert torch.equal(first, again) and not torch.equal(first, other)
