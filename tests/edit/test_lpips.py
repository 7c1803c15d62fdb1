import pytest
import torch
from safetensors.torch import save_file

from ffedit.edit import EditConfig, LpipsWeightsError, optimize_latent
from ffedit.edit.lpips import VGG_BLOCKS, LpipsVgg
from ffedit.io.lpips import load_lpips

WIDTHS = (2, 3, 4, 5, 5)
"""A narrow VGG16 (the real one has 64…512 channels): the weights decide the widths."""


def narrow_lpips_state(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    state, channels = {}, 3
    for width, block in zip(WIDTHS, VGG_BLOCKS, strict=True):
        for index in block:
            state[f"features.{index}.weight"] = (
                torch.randn(width, channels, 3, 3, generator=generator) * 0.5
            )
            state[f"features.{index}.bias"] = torch.rand(width, generator=generator) * 0.1
            channels = width
    for k, width in enumerate(WIDTHS):
        state[f"lin{k}.model.1.weight"] = torch.rand(1, width, 1, 1, generator=generator)
    return state


def _images(seed: int) -> torch.Tensor:
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_distance_is_zero_for_equal_images_positive_and_symmetric_otherwise():
    lpips = LpipsVgg(narrow_lpips_state())
    x, y = _images(0), _images(1)
    assert torch.allclose(lpips(x, x), torch.zeros(2))
    distance = lpips(x, y)
    assert (distance > 0).all()
    assert torch.allclose(distance, lpips(y, x))


def test_heads_weigh_the_distance_linearly():
    state = narrow_lpips_state()
    doubled = dict(state) | {
        f"lin{k}.model.1.weight": 2 * state[f"lin{k}.model.1.weight"] for k in range(5)
    }
    x, y = _images(0), _images(1)
    assert torch.allclose(LpipsVgg(doubled)(x, y), 2 * LpipsVgg(state)(x, y))


def test_weights_load_from_a_safetensors_file(tmp_path):
    path = tmp_path / "lpips.safetensors"
    save_file(narrow_lpips_state(), path)
    x, y = _images(0), _images(1)
    assert torch.allclose(load_lpips(path)(x, y), LpipsVgg(narrow_lpips_state())(x, y))


def test_missing_or_incomplete_weights_say_so(tmp_path):
    with pytest.raises(LpipsWeightsError, match=r"not found.*cannot be downloaded"):
        load_lpips(tmp_path / "absent.pth")
    state = narrow_lpips_state()
    del state["lin3.model.1.weight"]
    save_file(state, tmp_path / "partial.safetensors")
    with pytest.raises(LpipsWeightsError, match=r"lin3\.model\.1\.weight"):
        load_lpips(tmp_path / "partial.safetensors")
    (tmp_path / "junk.pth").write_bytes(b"not a state dict")
    with pytest.raises(LpipsWeightsError, match="cannot read"):
        load_lpips(tmp_path / "junk.pth")


def test_an_edit_with_lpips_weights_that_are_absent_fails_before_optimising(generator, tmp_path):
    ws = torch.zeros(generator.config.num_ws, generator.config.w_dim)
    config = EditConfig(lpips_weights=str(tmp_path / "absent.pth"), full_frame=True)
    target = torch.zeros(32, 32, dtype=torch.long)
    with pytest.raises(LpipsWeightsError):
        optimize_latent(generator, None, ws, torch.zeros(25), target, config)


def test_an_edit_with_lpips_optimises_and_reports_it(generator, tmp_path):
    from ffedit.camera import named_camera
    from ffedit.generator import ws_from_seed

    path = tmp_path / "lpips.safetensors"
    save_file(narrow_lpips_state(), path)
    ws = ws_from_seed(generator, 0)
    camera = named_camera("front")
    with torch.no_grad():
        target = generator.render(
            ws_from_seed(generator, 1)[None], camera[None], super_resolve=False
        )
    config = EditConfig(steps=2, lpips_weights=str(path), full_frame=True, dilation=0)
    target_mask = target.seg_logits[0].argmax(0)
    result = optimize_latent(
        generator, None, ws, camera, target_mask, config, lpips=load_lpips(path)
    )
    assert result.losses[-1]["lpips"] > 0
