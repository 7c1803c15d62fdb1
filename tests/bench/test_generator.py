"""Fidelity figures and serving latency of a (small, untrained) generator with a 512-d z."""

import dataclasses
import math

import numpy as np
import torch

from ffedit.bench.generator import (
    comparison_sheet,
    face_fidelity,
    fidelity_section,
    psnr,
    serving_latency,
    summarize,
)
from ffedit.generator import PRESETS, TriplaneGenerator

VIEWS = ["front", "left"]


def _generator() -> TriplaneGenerator:
    torch.manual_seed(0)
    config = dataclasses.replace(PRESETS["tiny"], z_dim=512, c_gen_conditioning_zero=True)
    return TriplaneGenerator(config).eval()


def test_psnr_of_a_known_error():
    a = torch.zeros(3, 4, 4)
    assert psnr(a, a) == math.inf
    assert abs(psnr(a, a + 0.2) - 10 * math.log10(4 / 0.04)) < 1e-6


def test_fidelity_summary_and_section_of_an_untrained_model():
    generator = _generator()
    results = [face_fidelity(generator, seed, 1 - seed, VIEWS) for seed in (0, 1)]
    summary = summarize(results, VIEWS)
    assert set(summary["per_view"]) == set(VIEWS)
    overall = summary["overall"]
    assert 0.0 <= overall["miou"] < 0.85  # untrained: far from the teacher
    assert 0.0 <= overall["mixing_changed"] <= 1.0
    assert overall["depth_mae"] > 0.01
    latency = serving_latency(generator, repeats=1)
    assert latency.cached_preview_seconds > 0 and latency.three_views_seconds > 0
    section = fidelity_section(summary, latency, "tiny-512", "machine", "today", "cmd")
    assert "base15 mIoU" in section and "✗" in section


def test_comparison_sheet_puts_teacher_and_model_rows_per_face():
    generator = _generator()
    sheet = comparison_sheet(generator, [0, 1], VIEWS)
    tile = generator.config.neural_rendering_resolution
    rows, columns = 2 * 2, 2 * len(VIEWS)  # teacher + model per face; RGB then masks
    assert sheet.shape == (rows * (tile + 2) - 2, columns * (tile + 2) - 2, 3)
    teacher, model = sheet[:tile, :tile], sheet[tile + 2 : 2 * tile + 2, :tile]
    assert not np.array_equal(teacher, model)  # an untrained model is not the teacher
