"""mIoU as the reference evaluation computes it, on hand-made label maps."""

import math

import torch

from ffedit.layouts.metrics import class_ious, image_ious, iou_table, mean_iou


def test_iou_table_and_the_reference_miou():
    target = torch.tensor([[[0, 0], [1, 1]], [[0, 0], [0, 2]]])
    predicted = torch.tensor([[[0, 1], [1, 1]], [[0, 0], [0, 0]]])
    table = iou_table(predicted, target, 4)
    assert table.intersections.tolist() == [[1, 2, 0, 0], [3, 0, 0, 0]]
    assert table.unions.tolist() == [[2, 3, 0, 0], [4, 0, 1, 0]]
    # image 0: classes 0, 1 present → (1/2 + 2/3)/2; image 1: classes 0, 2 → (3/4 + 0)/2
    first, second = (0.5 + 2 / 3) / 2, 0.75 / 2
    assert torch.allclose(image_ious(table), torch.tensor([first, second]))
    assert math.isclose(mean_iou(table), (first + second) / 2, rel_tol=1e-6)
    # restricted to class 2: only image 1 has it (IoU 0); image 0 is skipped
    assert mean_iou(table, [2]) == 0.0
    assert math.isnan(mean_iou(table, [3]))
    pooled = class_ious(table)
    assert torch.allclose(pooled[:3], torch.tensor([4 / 6, 2 / 3, 0.0]))
    assert math.isnan(float(pooled[3]))
