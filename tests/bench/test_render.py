"""Latency rows of `ffedit bench render`, the sample override and the 8-bit image helper."""

import numpy as np
import pytest
import torch

from ffedit.bench.render import (
    RenderLatency,
    latency_row,
    latency_section,
    median_seconds,
    with_samples,
)
from ffedit.generator import PRESETS, uint8_image

LATENCY = RenderLatency(0.5, 1.25, 3.0, 3 * 2**30)


def _row(preset="p", resolution=128, seconds=LATENCY):
    return latency_row(
        preset=preset,
        device="cpu",
        resolution=resolution,
        samples=(48, 48),
        chunk_rays=4096,
        latency=seconds,
        machine="m",
        date="2026-01-01",
        command="ffedit bench render",
    )


def test_row_cells():
    assert _row() == (
        "| p | cpu | 128² | 48+48 | 4096 | 0.500 | 1.250 | 3.000 | 3.00 GiB | m | 2026-01-01 "
        "| `ffedit bench render` |"
    )


def test_section_replaces_the_same_configuration_and_appends_others():
    first = latency_section(None, _row())
    assert first.count("| p |") == 1 and first.startswith("Median wall-clock")
    faster = _row(seconds=RenderLatency(0.1, 0.2, 0.3, 0))
    second = latency_section(first, faster)
    assert second.count("| p |") == 1 and "0.300" in second and "3.000" not in second
    third = latency_section(second, _row(preset="q"))
    assert third.index("| p |") < third.index("| q |")
    assert latency_section(third, _row(resolution=64)).count("| p |") == 2


def test_with_samples_overrides_only_the_sample_counts():
    config = with_samples(PRESETS["tiny"], 3, 5)
    assert (config.render.depth_resolution, config.render.depth_resolution_importance) == (3, 5)
    assert config.render.ray_start == PRESETS["tiny"].render.ray_start
    assert config.plane_resolution == PRESETS["tiny"].plane_resolution


def test_median_seconds_warms_up_once_then_times_every_run_each_round():
    calls = []
    runs = [lambda: calls.append("a"), lambda: calls.append("b")]
    seconds = median_seconds(runs, 3, torch.device("cpu"))
    assert len(seconds) == 2 and all(value >= 0 for value in seconds)
    assert calls == ["a", "b"] * 4


def test_uint8_image_maps_minus_one_to_zero_and_one_to_255_and_clips():
    image = torch.tensor([-1.0, 0.0, 1.0, 2.0, -3.0]).reshape(1, 1, 5).expand(3, 1, 5)
    array = uint8_image(image)
    assert array.shape == (1, 5, 3) and array.dtype == np.uint8
    assert array[0, :, 0].tolist() == [0, 128, 255, 255, 0]
    with pytest.raises(ValueError, match="3, H, W"):
        uint8_image(torch.zeros(1, 3, 4, 4))
