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


def test_user_figures_count_painted_reached_collateral_and_unseen_changes():
    before = torch.zeros(3, 8, 8, dtype=torch.long)
    source, edited = before.clone(), before.clone()
    edited[:, 2:4, 2:4] = 1  # the exact edit: a 2×2 patch of class 1 at every view
    target = bench.painted_target(before[0], source[0], edited[0])
    after = before.clone()
    after[0, 2:4, 2] = 1  # half the painted pixels reached
    after[0, 7, 7] = 2  # one pixel changed far away
    after[1, 2:4, 2:4] = 1  # left view: the exact change
    after[2, 2:4, 2:4] = 1
    after[2, 6:8, 6:8] = 1  # right view: the exact change and as many pixels more
    figures = bench.user_figures(before, after, target, source, edited, (1,), 3, dilation=1)
    assert figures["painted_pixels"] == 4 and figures["painted_recall"] == 0.5
    outside = 64 - 16  # the painted 2×2 dilated by 1 px is 4×4
    assert figures["collateral"] == pytest.approx(1 / outside)
    assert figures["change_recall"] == 1.0
    assert figures["change_precision"] == pytest.approx((1 + 0.5) / 2)
    assert figures["unseen_iou_before"] == 0.0 and figures["unseen_iou"] == pytest.approx(0.75)


def _run(case, face, variant, painted, recall, seconds, protocol="user", skipped=False):
    figures = {
        "case": case,
        "layout": "eyes19",
        "face": face,
        "protocol": protocol,
        "variant": variant,
        "skipped": skipped,
    }
    if skipped:
        return figures
    return figures | {
        "painted_pixels": painted,
        "painted_recall": recall,
        "collateral": 0.01,
        "touched_iou_before": 0.5,
        "touched_iou": 0.6,
        "change_recall": 0.4,
        "change_precision": math.nan,
        "unseen_iou_before": 0.3,
        "unseen_iou": 0.4,
        "psnr": 30.0,
        "seconds": seconds,
        "step_seconds": seconds / 10,
    }


def test_summary_groups_per_case_and_size_and_compares_fast_with_full_frame():
    runs = [
        _run("eyes.scale:1", 0, "default", 20, 0.6, 10.0),
        _run("eyes.scale:1", 0, "default, full frame", 20, 0.7, 100.0),
        _run("eyes.scale:1", 1, "default", 30, 0.8, 12.0),
        _run("eyes.scale:1", 2, "default", 0, 0, 0, skipped=True),
        _run("mouth.open:1.5", 0, "default", 200, 0.9, 11.0),
        _run("mouth.open:1.5", 0, "default", 200, 0.9, 11.0, protocol="teacher"),
    ]
    summary = bench.summarize(runs, "user")
    keys = [(entry["case"], entry["variant"]) for entry in summary]
    assert keys[-3:] == [
        ("small edits", "default"),
        ("small edits", "default, full frame"),
        ("large edits", "default"),
    ]
    eyes = summary[keys.index(("eyes.scale:1", "default"))]
    assert eyes["edits"] == 2 and eyes["skipped"] == 1
    assert eyes["painted_recall"] == pytest.approx(0.7) and eyes["seconds"] == 11.0
    assert math.isnan(eyes["change_precision"])
    large = summary[keys.index(("large edits", "default"))]
    assert large["edits"] == 1 and large["painted_recall"] == 0.9
    comparison = bench.twin_comparison(runs)
    assert comparison["edits"] == 1  # only face 0's eyes edit ran both ways
    assert comparison["fast"]["painted_recall"] == pytest.approx(0.6)
    assert comparison["speedup_per_edit"] == pytest.approx(10.0)
    assert bench.twin_comparison(runs[:1]) is None


def test_default_cases_cover_the_issues_operators_from_small_to_large():
    from ffedit.synthface.edits import edit_classes

    operators = {case.operator for case in bench.EDIT_CASES}
    assert {
        "eyes.scale",
        "pupil.scale",
        "nose.width",
        "ala.width",
        "chin.length",
        "mouth.open",
        "iris.scale",
        "brows.raise",
        "nose.length",
    } <= operators
    amounts = {}
    for case in bench.EDIT_CASES:
        assert edit_classes(case.operator, get_layout(case.layout)), case
        amounts.setdefault(case.operator, set()).add(case.amount)
    assert sum(len(values) > 1 for values in amounts.values()) >= 3  # small and large amounts


def test_the_default_method_is_the_apps_and_the_paper_method_the_papers():
    assert bench.DEFAULT.config(None) == EditConfig()
    paper = bench.PAPER.config(7)
    assert paper.objective == "paper" and paper.steps == 7 and paper.guard_yaws == ()
    assert bench.DEFAULT_FULL_FRAME.config(None).full_frame


def test_painting_on_the_prediction_keeps_the_models_mask_outside_the_change(generator):
    base15 = get_layout("base15")
    ws = ws_from_seed(generator, 0)
    source = torch.full((3, 32, 32), FINE_LABEL_IDS["skin_face"])
    edited = source.clone()
    edited[0, 10:14, 10:14] = FINE_LABEL_IDS["pupil"]
    teacher = bench.TeacherViews(source, edited)
    measure = bench.measure_edit(generator, None, base15, (3,), ws, teacher, EditConfig(steps=1))
    with torch.no_grad():
        output = generator.render(ws[None], named_camera("front")[None], super_resolve=False)
    own = output.seg_logits[0].argmax(0).numpy()
    expected = own.copy()
    expected[10:14, 10:14] = base15.class_id("eye")  # the pupil, in base15
    assert np.array_equal(measure.row[0], colors_from_labels(expected, base15))
    assert set(measure.figures["view_psnr"]) == set(bench.VIEWS)


def test_an_exact_edit_that_changes_no_pixel_of_the_models_mask_is_nothing_to_edit(generator):
    from ffedit.edit.errors import NothingToEdit

    base15 = get_layout("base15")
    ws = ws_from_seed(generator, 0)
    same = torch.full((3, 32, 32), FINE_LABEL_IDS["skin_face"])
    teacher = bench.TeacherViews(same, same.clone())
    with pytest.raises(NothingToEdit):
        bench.measure_edit(generator, None, base15, (3,), ws, teacher, EditConfig(steps=1))
