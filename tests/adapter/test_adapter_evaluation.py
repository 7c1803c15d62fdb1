"""`class_iou_on_samples`: per class, pooled IoU and pixel counts on the training samples."""

from __future__ import annotations

import json

import pytest
import torch

from ffedit.adapter import LEARNED_IOU, class_iou_on_samples
from ffedit.layouts import BUILTIN_LAYOUTS, LayoutClass, extend_layout

BASE = BUILTIN_LAYOUTS["base15"]
LAYOUT = extend_layout(
    BASE, "marks", (LayoutClass("patch", (10, 200, 30)), LayoutClass("dot", (250, 20, 200)))
)
PATCH, DOT = BASE.num_classes, BASE.num_classes + 1


def _samples() -> tuple[torch.Tensor, torch.Tensor]:
    """Two 8×8 samples: skin everywhere, a 2×2 patch and a 1-px dot painted on each; the
    prediction finds the patch (one pixel too many on the first sample), never the dot."""
    target = torch.ones(2, 8, 8, dtype=torch.int64)
    target[:, 2:4, 2:4] = PATCH
    target[:, 6, 6] = DOT
    predicted = torch.ones_like(target)
    predicted[:, 2:4, 2:4] = PATCH
    predicted[0, 4, 2] = PATCH
    return predicted, target


def test_every_class_is_reported_in_order_with_the_new_ones_marked():
    predicted, target = _samples()
    fits = class_iou_on_samples(predicted, target, LAYOUT, first_new=BASE.num_classes)
    assert [fit.name for fit in fits] == list(LAYOUT.class_names)
    assert [fit.new for fit in fits] == [False] * BASE.num_classes + [True, True]


def test_iou_is_pooled_over_the_samples_and_pixels_are_counted():
    predicted, target = _samples()
    fits = class_iou_on_samples(predicted, target, LAYOUT, first_new=BASE.num_classes)
    patch, dot, skin = fits[PATCH], fits[DOT], fits[1]
    assert patch.painted_pixels == 8 and patch.predicted_pixels == 9
    assert patch.iou == pytest.approx(8 / 9, abs=1e-4) and patch.learned
    assert dot.painted_pixels == 2 and dot.predicted_pixels == 0
    assert dot.iou == 0.0 and not dot.learned
    assert skin.painted_pixels == 2 * 64 - 8 - 2 and skin.predicted_pixels == 2 * 64 - 9
    # both: all painted skin but the extra patch pixel; either: painted skin and the dots
    assert skin.iou == pytest.approx((2 * 64 - 11) / (2 * 64 - 8), abs=1e-4)


def test_a_class_absent_everywhere_has_no_iou_and_is_not_learned():
    predicted, target = _samples()
    fits = class_iou_on_samples(predicted, target, LAYOUT, first_new=BASE.num_classes)
    hair = fits[BASE.class_id("hair")]
    assert hair.iou is None and hair.painted_pixels == hair.predicted_pixels == 0
    assert not hair.learned


def test_a_class_only_predicted_is_not_learned_and_the_threshold_holds():
    target = torch.ones(1, 4, 4, dtype=torch.int64)
    target[0, 0, :2] = PATCH  # 2 painted
    predicted = torch.full_like(target, PATCH)  # 16 predicted: IoU 2/16 < 0.2
    fits = class_iou_on_samples(predicted, target, LAYOUT, first_new=BASE.num_classes)
    assert fits[PATCH].iou == pytest.approx(2 / 16) and not fits[PATCH].learned
    assert fits[DOT].iou is None and not fits[DOT].learned
    target[0, 1, :2] = PATCH  # 4 painted: IoU 4/16 ≥ 0.2
    fits = class_iou_on_samples(predicted, target, LAYOUT, first_new=BASE.num_classes)
    assert fits[PATCH].iou >= LEARNED_IOU and fits[PATCH].learned


def test_the_report_is_json_ready():
    predicted, target = _samples()
    fits = class_iou_on_samples(predicted, target, LAYOUT, first_new=BASE.num_classes)
    entries = json.loads(json.dumps([fit.as_dict() for fit in fits], allow_nan=False))
    assert entries[DOT] == {
        "name": "dot",
        "new": True,
        "iou": 0.0,
        "painted_pixels": 2,
        "predicted_pixels": 0,
        "learned": False,
    }


def test_pool_rays_weighted_by_the_pixels_they_stand_for_give_the_whole_masks_figures():
    predicted, target = _samples()
    # one ray per class and sample: all patch and dot pixels, one skin pixel for the others
    rays = [(2, 2), (2, 3), (3, 2), (3, 3), (6, 6), (4, 2), (0, 0)]
    pool = lambda labels: torch.stack([labels[:, y, x] for y, x in rays], dim=1)  # noqa: E731
    weights = torch.tensor([1.0] * 5 + [1.0, 64 - 4 - 1 - 1.0]).repeat(2, 1)
    weights[1, 5:] = torch.tensor([1.0, 64 - 4 - 1 - 1.0])
    whole = class_iou_on_samples(predicted, target, LAYOUT, BASE.num_classes)
    pooled = class_iou_on_samples(pool(predicted), pool(target), LAYOUT, BASE.num_classes, weights)
    for fit in (PATCH, DOT):
        assert pooled[fit] == whole[fit]
    assert pooled[1].painted_pixels == whole[1].painted_pixels
