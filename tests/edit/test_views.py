import numpy as np
import pytest
import torch

from ffedit.edit import orbit_frames, overlay_image, render_views
from ffedit.generator import ws_from_seed
from ffedit.generator.planes import PlaneStatistics, plane_statistics
from ffedit.layouts import get_layout

BASE15 = get_layout("base15")


def test_overlay_blends_nearest_upsampled_mask_colours_over_the_rgb():
    rgb = np.full((4, 4, 3), 100, dtype=np.uint8)
    labels = np.array([[0, 1], [13, 0]])
    overlay = overlay_image(rgb, labels, BASE15, opacity=0.5)
    assert overlay.shape == (4, 4, 3)
    assert overlay[0, 0].tolist() == [50, 50, 50]  # background is black
    skin = (np.array(BASE15.classes[1].color) + 100) / 2
    assert overlay[0:2, 2:4].reshape(-1, 3).tolist() == [np.round(skin).tolist()] * 4
    hair = (np.array(BASE15.classes[13].color) + 100) / 2
    assert overlay[3, 0].tolist() == np.round(hair).tolist()
    with pytest.raises(ValueError):
        overlay_image(np.zeros((5, 5, 3), np.uint8), labels, BASE15)


def test_views_render_rgb_masks_and_overlays_with_the_locked_appearance(generator):
    ws = ws_from_seed(generator, 0)
    stats = plane_statistics(generator.synthesize_planes(ws[None]))
    views = render_views(generator, None, ws, stats, BASE15)
    assert list(views) == ["front", "left", "right"]
    size = generator.config.image_resolution
    for view in views.values():
        assert view.rgb.shape == (size, size, 3) and view.rgb.dtype == np.uint8
        assert view.labels.shape == (32, 32)
        assert view.overlay.shape == (size, size, 3)
    assert not np.array_equal(views["left"].rgb, views["right"].rgb)
    other = PlaneStatistics(stats.mean + 0.5, stats.std)
    shifted = render_views(generator, None, ws, other, BASE15, views=("front",))
    assert np.array_equal(shifted["front"].labels, views["front"].labels)  # geometry kept
    assert not np.array_equal(shifted["front"].rgb, views["front"].rgb)  # appearance changed


def test_orbit_frames_are_one_loop_of_distinct_frames(generator):
    ws = ws_from_seed(generator, 0)
    frames = list(orbit_frames(generator, ws, None, 4))
    size = generator.config.image_resolution
    assert len(frames) == 4 and all(f.shape == (size, size, 3) for f in frames)
    assert not np.array_equal(frames[0], frames[1])
    assert torch.is_tensor(ws)  # the generator consumed ws without changing it
