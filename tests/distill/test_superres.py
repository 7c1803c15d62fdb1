"""Fitting the super-resolution head on teacher renders (tiny generator with a 512-d z)."""

import dataclasses

import torch

from ffedit.distill.superres import (
    SuperResolutionSettings,
    fit_superresolution,
    superresolution_data,
)
from ffedit.generator import PRESETS, TriplaneGenerator


def test_only_the_head_learns_and_its_error_falls():
    torch.manual_seed(0)
    config = dataclasses.replace(PRESETS["tiny"], z_dim=512, c_gen_conditioning_zero=True)
    generator = TriplaneGenerator(config)
    settings = SuperResolutionSettings(faces=2, steps=100, batch_size=2, learning_rate=1e-2)
    data = superresolution_data(generator, settings)
    size = config.image_resolution
    assert data["target"].shape == (2, 3, size, size) and data["target"].abs().max() <= 1
    before = {name: value.clone() for name, value in generator.state_dict().items()}

    def error() -> float:
        with torch.no_grad():
            image = generator.superresolve(data["rgb_raw"], data["features"], data["ws"])
        return float((image - data["target"]).abs().mean())

    start = error()
    fit_superresolution(generator, data, settings)
    assert error() < 0.9 * start
    changed = {name for name, value in generator.state_dict().items()
               if not torch.equal(value, before[name])}  # fmt: skip
    assert changed and all(name.startswith("superresolution.") for name in changed)
