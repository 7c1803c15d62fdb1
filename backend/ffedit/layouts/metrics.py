"""Mask quality: per-image IoU tables and FFaceNeRF's mIoU.

The reference evaluation: for each image, the IoU of every class whose union is not empty
(present in the prediction or the target), averaged over those classes; then the mean over
images. Restricting the classes (e.g. to a layout's new ones) skips images where none of them
is present. Per-class IoU over a set of images is Σ intersections / Σ unions (pooled, so that
a class of a few pixels per image is measured on all its pixels).
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class IouTable(NamedTuple):
    intersections: torch.Tensor
    """(N, K) pixels of class k in both prediction and target, per image."""
    unions: torch.Tensor
    """(N, K) pixels of class k in either, per image."""


def iou_table(
    predicted: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    weights: torch.Tensor | None = None,
) -> IouTable:
    """Per-image intersections and unions of label maps (N, H, W) with K = num_classes;
    `weights` (same shape): the pixels each entry stands for (a sample of an image's pixels),
    summed instead of counting entries."""
    if predicted.shape != target.shape:
        raise ValueError(f"prediction {tuple(predicted.shape)} vs target {tuple(target.shape)}")
    classes = torch.arange(num_classes, device=predicted.device)
    pred = predicted.reshape(len(predicted), 1, -1) == classes[None, :, None]
    true = target.reshape(len(target), 1, -1).to(predicted.device) == classes[None, :, None]
    if weights is None:
        return IouTable((pred & true).sum(-1), (pred | true).sum(-1))
    weight = weights.reshape(len(weights), 1, -1).to(predicted.device, torch.float32)
    return IouTable(((pred & true) * weight).sum(-1), ((pred | true) * weight).sum(-1))


def image_ious(table: IouTable, classes: list[int] | None = None) -> torch.Tensor:
    """(N,) mean IoU of each image over `classes` (default all) with a non-empty union;
    NaN for an image where none of them is present."""
    intersections, unions = table
    if classes is not None:
        intersections, unions = intersections[:, classes], unions[:, classes]
    present = unions > 0
    ious = torch.where(present, intersections / unions.clamp_min(1), torch.zeros(()))
    counts = present.sum(-1)
    return torch.where(counts > 0, ious.sum(-1) / counts.clamp_min(1), torch.nan)


def mean_iou(table: IouTable, classes: list[int] | None = None) -> float:
    """The reference mIoU: mean over images of `image_ious` (images without any of the
    classes are skipped); NaN when no image has any."""
    ious = image_ious(table, classes)
    ious = ious[~ious.isnan()]
    return float(ious.mean()) if len(ious) else float("nan")


def class_ious(table: IouTable) -> torch.Tensor:
    """(K,) pooled IoU per class over all images; NaN for a class absent everywhere."""
    intersections, unions = table.intersections.sum(0), table.unions.sum(0)
    return torch.where(unions > 0, intersections / unions.clamp_min(1), torch.nan)
