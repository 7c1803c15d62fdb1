"""How well a trained adapter reproduces its own training samples, per class.

After a fit, each training sample is predicted at its own view (`predict_masks`) and compared
with the mask it was painted with: per class, the pooled IoU over all samples (Σ intersections
/ Σ unions, `ffedit.layouts.metrics.class_ious`, so a class of a few pixels per sample is
measured on all its pixels), the painted and the predicted pixel counts. A class the layout
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
    predicted: torch.Tensor, target: torch.Tensor, layout: Layout, first_new: int
) -> list[ClassFit]:
    """Every class of `layout` (in id order) measured on predicted and painted class ids
    (N, H, W) of the same samples; classes from id `first_new` on are the layout's new ones."""
    table = iou_table(predicted, target, layout.num_classes)
    ious = class_ious(table)
    painted = torch.bincount(target.reshape(-1), minlength=layout.num_classes)
    predicted_counts = torch.bincount(predicted.reshape(-1), minlength=layout.num_classes)
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
