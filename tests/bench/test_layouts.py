"""The layout benchmark's plan: runs, variants, training samples, class merging, summaries,
and the cheek-patch layout's ground truth."""

import dataclasses
import math

import torch

from ffedit.adapter import TRAINING_PRESETS
from ffedit.bench.layouts import (
    BenchFaces,
    RunSpec,
    base_class_table,
    bench_layout,
    layout_labels,
    new_classes,
    planned_runs,
    run_name,
    summarize,
    synthface_bench_faces,
    training_samples,
    variant_config,
)
from ffedit.camera import named_camera
from ffedit.generator import PRESETS, TriplaneGenerator
from ffedit.layouts import get_layout


def test_planned_runs_cover_variants_shots_seeds_and_the_trainer_comparison():
    runs = planned_runs(["eyes19", "nose19"], ["full", "no-lmta"], [1, 10], 3, 10, ["eyes19"])
    # per layout and seed: 2 variants at N = 10 + full at N = 1; plus one full-image run
    assert len(runs) == 2 * 3 * 3 + 1
    assert RunSpec("eyes19", "full", 10, 0, trainer="full") in runs
    assert RunSpec("nose19", "full", 1, 2) in runs
    assert not any(r.trainer == "full" and r.layout == "nose19" for r in runs)


def test_a_comparison_at_its_own_steps_runs_both_trainers_at_those_steps():
    runs = planned_runs(["eyes19", "nose19"], ["full"], [10], 2, 10, ["eyes19"], 100)
    extra = [r for r in runs if r.steps is not None]
    assert extra == [RunSpec("eyes19", "full", 10, 0, "fast", 100),
                     RunSpec("eyes19", "full", 10, 0, "full", 100)]  # fmt: skip
    assert len(runs) == 2 * 2 + 2
    names = {run_name(r) for r in runs}
    assert len(names) == len(runs) and "eyes19-full-n10-seed0-fast-100steps" in names


def test_a_run_of_its_own_steps_shortens_the_schedule_and_stage_one_with_it():
    base = TRAINING_PRESETS["fast"]
    short = variant_config(base, RunSpec("x", "full", 10, 0, "full", base.steps // 10))
    assert short.steps == base.steps // 10 and short.trainer == "full"
    assert short.overlap_start_step == round(base.overlap_start_step / 10)
    assert variant_config(base, RunSpec("x", "full", 10, 0)).steps == base.steps


def test_variant_configs_change_one_thing_each():
    base = TRAINING_PRESETS["fast"]
    assert variant_config(base, RunSpec("x", "no-position", 10, 1)).variant == "injection"
    assert variant_config(base, RunSpec("x", "no-injection", 10, 1)).variant == "simple"
    assert variant_config(base, RunSpec("x", "no-lmta", 10, 1)).lmta_probability == 0
    assert variant_config(base, RunSpec("x", "no-overlap", 10, 1)).overlap_weight == 0
    full = variant_config(base, RunSpec("x", "full", 10, 2, trainer="full"))
    assert (full.seed, full.trainer, full.variant) == (2, "full", "positional")
    assert variant_config(base, RunSpec("x", "front-only", 10, 0)).lmta_probability == 0.5


def _faces(count=6, size=4):
    fine = torch.arange(count * 3).reshape(count, 3, 1, 1).expand(count, 3, size, size) % 25
    ws = torch.arange(count).float()[:, None, None]
    return BenchFaces(tuple(range(count)), ws, fine, torch.zeros_like(fine, dtype=torch.bool))


def test_training_samples_are_nested_over_n_and_mix_views():
    faces, layout = _faces(), get_layout("eyes19")
    five = training_samples(faces, layout, RunSpec("eyes19", "full", 5, 1))
    two = training_samples(faces, layout, RunSpec("eyes19", "full", 2, 1))
    assert [s.ws.item() for s in two] == [s.ws.item() for s in five[:2]]
    cameras = {tuple(s.camera.tolist()) for s in five}
    assert len(cameras) == 3
    front = training_samples(faces, layout, RunSpec("eyes19", "front-only", 5, 1))
    assert all(torch.equal(s.camera, named_camera("front")) for s in front)
    other_seed = training_samples(faces, layout, RunSpec("eyes19", "full", 5, 2))
    assert [s.ws.item() for s in other_seed] != [s.ws.item() for s in five]


def test_base_class_table_merges_new_classes_back_to_base15():
    eyes, chin = get_layout("eyes19"), get_layout("chin20")
    base15 = get_layout("base15")
    table = base_class_table(eyes)
    assert table[:15].tolist() == list(range(15))
    named = dict(zip(eyes.class_names, table.tolist(), strict=True))
    assert named["iris"] == named["pupil"] == base15.class_id("eye")
    assert named["eyelid"] == base15.class_id("skin")
    assert named["nasal_ala"] == base15.class_id("nose")
    assert new_classes(eyes) == [15, 16, 17, 18]
    assert base_class_table(chin)[19] == base15.class_id("mouth")  # teeth


def test_summary_is_mean_and_std_over_seeds_ignoring_missing_values():
    def run(seed, miou, new):
        return {
            "layout": "eyes19", "variant": "full", "shots": 10, "trainer": "fast", "seed": seed,
            "miou": miou, "new_miou": new, "base_miou": 0.9, "seconds": 10.0 + seed,
            "view_miou": {"front": miou}, "view_new_miou": {"front": new},
            "class_iou": {"pupil": new}, "own_samples": {"class_iou": {"pupil": 2 * new}},
        }  # fmt: skip

    shorter = {**run(0, 0.1, 0.1), "steps": 100}
    entry, short = summarize([run(0, 0.5, 0.2), run(1, 0.7, math.nan), shorter])
    assert (short["steps"], short["seeds"], entry["steps"]) == (100, 1, None)
    assert entry["seeds"] == 2
    assert math.isclose(entry["miou"][0], 0.6) and math.isclose(entry["miou"][1], 0.1)
    assert entry["new_miou"] == [0.2, 0.0]
    assert entry["own_class_iou"] == {"pupil": [0.4, 0.0]}
    assert entry["seconds"] == [10.5, 0.5]


def test_the_cheek_patch_layout_paints_the_patch_over_skin_in_its_ground_truth():
    tiny = TriplaneGenerator(dataclasses.replace(PRESETS["tiny"], z_dim=512)).eval()
    faces = synthface_bench_faces(tiny, [0, 1])
    layout = bench_layout("cheek-patch")
    patch, skin = layout.class_id("cheek_patch"), layout.class_id("skin")
    assert layout.class_names[:15] == get_layout("base15").class_names
    assert new_classes(layout) == [patch] and base_class_table(layout)[patch] == skin
    labels = layout_labels(faces, layout)
    seen = (labels == patch).flatten(2).sum(2)  # (faces, views)
    assert (seen[:, 0] > 0).all() and (seen[:, 2] > 0).all()  # front and right
    # only skin changes: merged back to base15 the labels are the fine labels' own
    assert torch.equal(base_class_table(layout)[labels], layout_labels(faces, get_layout("base15")))
    samples = training_samples(faces, layout, RunSpec("cheek-patch", "full", 2, 0))
    assert all((sample.labels == patch).any() for sample in samples)
