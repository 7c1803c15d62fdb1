import dataclasses

import pytest

from ffedit.edit import EditConfig
from ffedit.edit.config import edit_learning_rate, paper_edit_config


def test_paper_config_is_the_papers():
    config = paper_edit_config()
    assert config.objective == "paper" and config.optimizer == "adam"
    assert config.learning_rate == 0.02
    assert config.steps == 100
    assert config.overlap_weight == 0.5
    assert config.init_scale == 0.01
    assert config.guard_yaws == ()
    assert config.layers is None  # every ws layer moves, as in FFaceNeRF
    assert config.lpips_weights is None and not config.full_frame
    assert paper_edit_config(steps=3).steps == 3


def test_defaults_paint_from_rest_with_guards():
    config = EditConfig()
    assert config.objective == "painted" and config.init_scale == 0.0
    assert len(config.guard_yaws) == 2 and config.layers is None
    assert config.steps == paper_edit_config().steps


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
        {"objective": "nope"},
        {"optimizer": "sgd"},
        {"painted_confidence": 0.0},
        {"guard_rays": 0},
        {"layers": (1, 1)},
        {"context_rays": 0},
        {"chunk_rays": 0},
        {"rate_pixels": 0},
    ],
)
def test_invalid_settings_are_refused(changes):
    with pytest.raises(ValueError):
        EditConfig(**changes)


def test_lpips_needs_full_frames():
    with pytest.raises(ValueError, match="full_frame"):
        EditConfig(lpips_weights="lpips.safetensors")
    assert EditConfig(lpips_weights="lpips.safetensors", full_frame=True).full_frame


def test_larger_edits_take_a_larger_rate_up_to_the_maximum():
    config = EditConfig(learning_rate=0.005, max_learning_rate=0.01, rate_pixels=50)
    assert edit_learning_rate(config, 1) == 0.005
    assert edit_learning_rate(config, 50) == 0.005
    assert edit_learning_rate(config, 100) == pytest.approx(0.005 * 2**0.5)
    assert edit_learning_rate(config, 200) == 0.01
    assert edit_learning_rate(config, 5000) == 0.01
    fixed = dataclasses.replace(config, max_learning_rate=None)
    assert edit_learning_rate(fixed, 5000) == 0.005
    assert edit_learning_rate(paper_edit_config(), 5000) == 0.02
    assert edit_learning_rate(dataclasses.replace(config, learning_rate=0.02), 5000) == 0.02
