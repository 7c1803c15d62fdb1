"""How well a trained adapter reproduces its own training samples, per class.

After a fit, each training sample's prediction at its own view is compared with the mask it
was painted with: per class, the pooled IoU over all samples (Σ intersections / Σ unions,
`ffedit.layouts.metrics.class_ious`, so a class of a few pixels per sample is measured on all
its pixels), the painted and the predicted pixel counts. The prediction is a render
(`predict_masks`) or, after the fast trainer, its cached pool rays (`AdapterFit.pool_check`:
a class-stratified sample of each mask's pixels, each weighted by the pixels it stands for;
every pixel of a small class is in it), which needs no render. A class the layout
adds over its base whose IoU stays below `LEARNED_IOU` on its own samples was not learned:
the adapter sees the face's geometry (normalised tri-plane features, density and base-class
logits at 3D points, and the ray direction), not its colour, so marks that are texture only,
or a pixel or two at the mask resolution, may not be learnable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ffedit.layouts import Layout
from ffedit.layouts.metrics import class_ious, iou_table

LEARNED_IOU = 0.2
"""A new class with a pooled IoU below this on its own training samples was not learned."""


@dataclass(frozen=True)
class ClassFit:
    """One class of a layout, measured on the training samples."""

    name: str
    new: bool
    """The layout adds it over its base (the base's classes come first)."""
    iou: float | None
    """Pooled IoU over the samples; None when it is neither painted nor predicted anywhere."""
    painted_pixels: int
    """Pixels of the class in the samples' masks, all samples together."""
    predicted_pixels: int
    """Pixels the adapter predicts as the class on the same samples and views."""
    learned: bool
    """iou ≥ `LEARNED_IOU` (False for a class painted nowhere)."""

    def as_dict(self) -> dict:
        """JSON-ready."""
        return asdict(self)


def class_iou_on_samples(
    predicted: torch.Tensor,
    target: torch.Tensor,
    layout: Layout,
    first_new: int,
    pixel_weights: torch.Tensor | None = None,
) -> list[ClassFit]:
    """Every class of `layout` (in id order) measured on predicted and painted class ids
    (N, H, W) of the same samples, or (N, P) pool rays with the `pixel_weights` (N, P) they
    stand for; classes from id `first_new` on are the layout's new ones."""
    table = iou_table(predicted, target, layout.num_classes, pixel_weights)
    ious = class_ious(table)
    weights = None if pixel_weights is None else pixel_weights.reshape(-1).float().cpu()
    painted = _class_pixels(target, weights, layout.num_classes)
    predicted_counts = _class_pixels(predicted, weights, layout.num_classes)
    fits = []
    for index, name in enumerate(layout.class_names):
        iou = None if torch.isnan(ious[index]) else round(float(ious[index]), 4)
        fits.append(
            ClassFit(
                name=name,
                new=index >= first_new,
                iou=iou,
                painted_pixels=int(painted[index]),
                predicted_pixels=int(predicted_counts[index]),
                learned=iou is not None and iou >= LEARNED_IOU and int(painted[index]) > 0,
            )
        )
    return fits


def _class_pixels(labels: torch.Tensor, weights: torch.Tensor | None, classes: int):
    """(K,) int64 pixels of each class: entries counted, or their weights summed and rounded."""
    counts = torch.bincount(labels.reshape(-1).cpu(), weights, minlength=classes)
    return counts.round().to(torch.int64)
