"""`ffedit bench invert`'s pieces on a tiny untrained generator: photos, figures, section."""

import argparse
import dataclasses
import math

import torch

from ffedit.bench import report
from ffedit.bench.invert import (
    measure_case,
    oracle_scores,
    photo_camera,
    photo_cases,
    section,
    summarize,
)
from ffedit.camera import camera_from_angles
from ffedit.generator import PRESETS, TriplaneGenerator
from ffedit.invert import InversionConfig
from ffedit.invert.tuning import TuningConfig
from ffedit.io.detector import load_mtcnn


def test_cases_are_seeded_and_only_the_jittered_set_moves_the_crop():
    exact = photo_cases([0, 1, 2], False, 7, 0.35, 0.15)
    assert exact == photo_cases([0, 1, 2], False, 7, 0.35, 0.15)
    jittered = photo_cases([0, 1, 2], True, 7, 0.35, 0.15)
    assert [(c.yaw, c.pitch) for c in exact] == [(c.yaw, c.pitch) for c in jittered]
    assert all(c.log_zoom == c.shift_x == c.shift_y == 0 for c in exact)
    assert all(c.log_zoom != 0 and abs(c.shift_x) <= 0.05 for c in jittered)
    assert all(abs(c.yaw - math.pi / 2) <= 0.35 for c in exact)
    assert torch.allclose(photo_camera(exact[0]), camera_from_angles(exact[0].yaw, exact[0].pitch))


def _generator() -> TriplaneGenerator:
    """The tiny preset with synthface's 512-d z (the oracle maps the true z)."""
    torch.manual_seed(0)
    config = dataclasses.replace(PRESETS["tiny"], z_dim=512, c_gen_conditioning_zero=True)
    return TriplaneGenerator(config).eval()


def test_a_photo_is_measured_summarised_and_published():
    generator = _generator()
    case = photo_cases([3], True, 0, 0.3, 0.1)[0]
    config = InversionConfig(w_steps=2, wplus_steps=2, resolution=32)
    tuning = TuningConfig(steps=2)
    row = measure_case(generator, load_mtcnn(), case, config, ["front", "left"], 256, tuning)
    assert row["detected"] and row["seconds"] > 0
    assert row["landmark_fit"]["yaw_error"] < 10
    assert row["tuning_seconds"] > 0
    for stage in ("w", "W+", "W+ tuned"):
        assert 0 <= row[stage]["unseen_miou"] <= 1 and row[stage]["input_psnr"] > 0
    summary = summarize([row, {"seed": 4, "detected": False, "reason": "no face"}])
    assert summary["detected"] == 1 and summary["photos"] == 2
    oracle = oracle_scores(generator, [3], ["front"])
    args = argparse.Namespace(
        model="tiny",
        faces=[3],
        views=["front", "left"],
        draw_seed=0,
        max_yaw=0.3,
        max_pitch=0.1,
        photo_resolution=256,
        w_steps=2,
        wplus_steps=2,
        resolution=32,
        tuning_steps=2,
    )
    body = section({"jittered crop": summary}, oracle, args, report.Stamp("cmd", "m", "d"))
    assert "| jittered crop | W+ tuned | 1/2 |" in body and "oracle" in body
