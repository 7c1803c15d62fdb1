"""Class-stratified ray selection, so that a few-pixel class is in every training step.

A budget of rays is shared equally among the classes present; a class with fewer pixels than
its share gives all of them and its unused share to the others (water filling). Every chosen
ray gets a pixel weight: how many pixels of its class it stands for (class count / chosen
count, times the weight it already had). Weighted sums over the chosen rays therefore
estimate sums over the whole set, and the weights of a selection add up to the weight of the
set it was drawn from: stratified sampling changes the variance of the loss, not its target.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class RaySelection(NamedTuple):
    indices: torch.Tensor
    """(R,) int64 positions of the chosen rays, grouped by class."""
    pixel_weights: torch.Tensor
    """(R,) float32 pixels each chosen ray stands for."""


def class_quotas(counts: torch.Tensor, budget: int) -> torch.Tensor:
    """Rays per class (K,) int64 for class pixel counts (K,): equal shares of `budget` among
    the classes present, capped by their counts; the total is min(budget, Σ counts).

    A remainder smaller than the number of uncapped classes goes one ray each to the classes
    with the most pixels.
    """
    counts = counts.to(torch.int64).cpu()
    quotas = torch.zeros_like(counts)
    remaining = min(int(budget), int(counts.sum()))
    open_classes = sorted(
        (c for c in range(len(counts)) if counts[c] > 0), key=lambda c: int(counts[c])
    )
    while open_classes and remaining > 0:
        share = remaining // len(open_classes)
        smallest = open_classes[0]
        if counts[smallest] <= share:
            quotas[smallest] = counts[smallest]
            remaining -= int(counts[smallest])
            open_classes.pop(0)
            continue
        for c in open_classes:
            quotas[c] = share
        leftover = remaining - share * len(open_classes)
        for c in open_classes[::-1][:leftover]:
            quotas[c] += 1
        break
    return quotas


def stratified_rays(
    labels: torch.Tensor,
    budget: int,
    generator: torch.Generator,
    pixel_weights: torch.Tensor | None = None,
) -> RaySelection:
    """Choose min(budget, N) of N rays with labels (N,), class-stratified (`class_quotas`),
    uniformly at random within each class.

    pixel_weights (N,) are the weights the rays already carry (all 1 for image pixels); they
    must be equal within a class (as the weights of an earlier stratified selection are).
    """
    labels = labels.reshape(-1).to(torch.int64)
    counts = torch.bincount(labels.cpu())
    quotas = class_quotas(counts, budget)
    keys = labels.cpu().double() + torch.rand(len(labels), generator=generator, dtype=torch.float64)
    order = torch.argsort(keys)
    sorted_labels = labels.cpu()[order]
    class_starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(len(labels)) - class_starts[sorted_labels]
    chosen = order[rank < quotas[sorted_labels]]
    chosen_labels = labels.cpu()[chosen]
    scale = counts[chosen_labels].float() / quotas[chosen_labels].float()
    if pixel_weights is not None:
        scale = scale * pixel_weights.reshape(-1).cpu().float()[chosen]
    return RaySelection(chosen.to(labels.device), scale.to(labels.device))
