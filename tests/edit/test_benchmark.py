import math

import numpy as np
import pytest
import torch

from ffedit.bench import edits as bench
from ffedit.camera import named_camera
from ffedit.edit import EditConfig
from ffedit.generator import ws_from_seed
from ffedit.layouts import FINE_LABEL_IDS, colors_from_labels, get_layout


def test_psnr_outside_ignores_the_region_and_caps_identical_images():
    a = torch.zeros(2, 3, 4, 4)
    b = a.clone()
    b[0, :, 0, 0] = 2.0  # one pixel off by the whole range, inside the region of view 0
    b[1] += 0.02  # view 1 uniformly off by 1 % of the range
    outside = torch.ones(2, 4, 4, dtype=torch.bool)
    outside[0, 0, 0] = False
    psnr = bench.psnr_outside(a, b, outside)
    assert psnr[0].item() == bench.PSNR_CAP
    assert psnr[1].item() == pytest.approx(10 * math.log10(4 / 0.02**2), rel=1e-4)


def test_touched_iou_averages_the_present_touched_classes():
    predicted = torch.tensor([[[0, 1, 1, 2]], [[0, 0, 0, 0]]])
    target = torch.tensor([[[0, 1, 2, 2]], [[0, 0, 0, 0]]])
    ious = bench.touched_iou(predicted, target, (1, 2, 3), 4)
    assert ious[0].item() == pytest.approx((1 / 2 + 1 / 2) / 2)  # class 3 absent: skipped
    assert math.isnan(ious[1].item())


def test_contact_sheet_tiles_with_gaps():
    tile = np.full((5, 6, 3), 200, np.uint8)
    sheet = bench.contact_sheet([[tile, tile, tile], [tile, tile, tile]])
    assert sheet.shape == (2 * 5 + 2, 3 * 6 + 2 * 2, 3)
    assert sheet[5, 0].tolist() == list(bench.SHEET_GAP_COLOR)
    assert sheet[0, 0].tolist() == [200, 200, 200]


def _run(operator, face, variant, full_frame, target_iou, seconds, steps=10):
    return {
        "operator": operator,
        "layout": "eyes19",
        "face": face,
        "variant": variant,
        "overlap_weight": 0.5,
        "full_frame": full_frame,
        "target_iou_before": 0.1,
        "target_iou": target_iou,
        "consistency_iou_before": math.nan,
        "consistency_iou": 0.5,
        "psnr": 30.0,
        "seconds": seconds,
        "step_seconds": seconds / steps,
        "steps": steps,
    }


def test_summary_groups_per_edit_and_variant_and_compares_fast_with_full_frame():
    runs = [
        _run("eyes.scale", 0, "fast, λ=0.5", False, 0.6, 10.0),
        _run("eyes.scale", 0, "full frame, λ=0.5", True, 0.7, 100.0),
        _run("eyes.scale", 1, "fast, λ=0.5", False, 0.8, 12.0),
        _run("nose.width", 0, "fast, λ=0.5", False, 0.4, 11.0),
    ]
    summary = bench.summarize(runs)
    keys = [(entry["operator"], entry["variant"]) for entry in summary]
    assert keys[-2:] == [("all", "fast, λ=0.5"), ("all", "full frame, λ=0.5")]
    eyes = summary[keys.index(("eyes.scale", "fast, λ=0.5"))]
    assert eyes["edits"] == 2 and eyes["target_iou"] == pytest.approx(0.7)
    assert math.isnan(eyes["consistency_iou_before"]) and eyes["seconds"] == 11.0
    comparison = bench.fast_vs_full(runs)
    assert comparison["edits"] == 1  # only face 0's eyes edit ran both ways
    assert comparison["fast"]["target_iou"] == pytest.approx(0.6)
    assert comparison["speedup_per_step"] == pytest.approx(10.0)
    assert bench.fast_vs_full(runs[:1]) is None


def test_default_cases_cover_the_benchmarks_operators_in_layouts_with_their_classes():
    from ffedit.synthface.edits import edit_classes

    operators = {case.operator for case in bench.EDIT_CASES}
    assert {
        "eyes.scale",
        "pupil.scale",
        "nose.width",
        "ala.width",
        "chin.length",
        "mouth.open",
    } <= operators
    for case in bench.EDIT_CASES:
        layout = get_layout(case.layout)
        new = set(range(15, layout.num_classes))  # the custom classes beyond base15
        assert set(edit_classes(case.operator, layout)) & new, case


def test_painting_on_the_prediction_keeps_the_models_mask_outside_the_change(generator):
    base15 = get_layout("base15")
    ws = ws_from_seed(generator, 0)
    source = torch.full((3, 32, 32), FINE_LABEL_IDS["skin_face"])
    edited = source.clone()
    edited[0, 10:14, 10:14] = FINE_LABEL_IDS["pupil"]
    teacher = bench.TeacherViews(source, edited)
    config = EditConfig(steps=1)
    measure = bench.measure_edit(
        generator, None, base15, (3,), ws, teacher, config, paint_on_prediction=True
    )
    with torch.no_grad():
        output = generator.render(ws[None], named_camera("front")[None], super_resolve=False)
    own = output.seg_logits[0].argmax(0).numpy()
    expected = own.copy()
    expected[10:14, 10:14] = base15.class_id("eye")  # the pupil, in base15
    assert np.array_equal(measure.row[0], colors_from_labels(expected, base15))
    assert set(measure.figures["view_psnr"]) == set(bench.VIEWS)
