import dataclasses

import pytest

from ffedit.edit import EditConfig


def test_defaults_are_the_papers():
    config = EditConfig()
    assert config.learning_rate == 0.02
    assert config.steps == 100
    assert config.overlap_weight == 0.5
    assert config.init_scale == 0.01
    assert config.layers is None  # every ws layer moves, as in FFaceNeRF
    assert config.lpips_weights is None and not config.full_frame


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        EditConfig().steps = 3


@pytest.mark.parametrize(
    "changes",
    [
        {"steps": 0},
        {"learning_rate": 0.0},
        {"overlap_weight": -1.0},
        {"dilation": -1},
        {"layers": ()},
        {"layers": (1, 1)},
        {"context_rays": 0},
        {"chunk_rays": 0},
    ],
)
def test_invalid_settings_are_refused(changes):
    with pytest.raises(ValueError):
        EditConfig(**changes)


def test_lpips_needs_full_frames():
    with pytest.raises(ValueError, match="full_frame"):
        EditConfig(lpips_weights="lpips.safetensors")
    assert EditConfig(lpips_weights="lpips.safetensors", full_frame=True).full_frame
