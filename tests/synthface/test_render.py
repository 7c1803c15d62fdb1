"""Rendering: determinism, the traced fast path against its marched twin, the appearance
split at every view, batching, background and FFHQ-like framing."""

import torch

from ffedit.camera import named_camera
from ffedit.layouts import FINE_LABEL_IDS as ID
from ffedit.synthface import faces_from_seeds, render_face, render_face_reference

VIEWS = torch.stack([named_camera(view) for view in ("front", "left", "right")])


def test_same_latent_and_camera_give_identical_arrays():
    face = faces_from_seeds([3])
    first = render_face(face, VIEWS[:2], 32)
    second = render_face(faces_from_seeds([3]), VIEWS[:2], 32)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


def test_outputs_have_the_documented_shapes_and_ranges():
    result = render_face(faces_from_seeds([0, 1]), named_camera("front"), 24)
    assert result.rgb.shape == (2, 3, 24, 24) and result.depth.shape == (2, 1, 24, 24)
    assert result.fine_labels.shape == (2, 24, 24) and result.fine_labels.dtype == torch.int64
    assert result.rgb.min() >= -1 and result.rgb.max() <= 1
    background = result.fine_labels == 0
    assert background.any() and (~background).any()
    # Background pixels absorb less than half the light: composited colour ≤ 0.5, i.e. ≤ 0.
    assert torch.all(result.rgb.permute(1, 0, 2, 3)[:, background] <= 0)
    assert (result.rgb.permute(1, 0, 2, 3)[:, background] == -1).float().mean() > 0.9


def test_traced_render_matches_the_plain_marched_twin():
    face = faces_from_seeds([18])  # glasses (translucent lenses), necklace, long hair
    cameras = VIEWS[:2]
    fast = render_face(face, cameras, 32)
    plain = render_face_reference(face, cameras, 32)
    assert (fast.fine_labels == plain.fine_labels).float().mean() > 0.99
    assert (fast.rgb - plain.rgb).abs().mean() < 0.01
    foreground = (fast.fine_labels > 0) & (plain.fine_labels > 0)
    assert (fast.depth - plain.depth)[:, 0][foreground].abs().mean() < 1e-3


def test_swapping_appearance_changes_no_label_at_any_view():
    faces = faces_from_seeds([4, 9])
    swapped = faces.with_appearance_of(faces_from_seeds([11, 12]))
    original, changed = render_face(faces, VIEWS[:1], 32), render_face(swapped, VIEWS[:1], 32)
    for view in range(1, 3):  # and the side views, one face at a time
        side = render_face(faces[0], VIEWS[view], 32).fine_labels
        assert torch.equal(side, render_face(swapped[0], VIEWS[view], 32).fine_labels)
    assert torch.equal(original.fine_labels, changed.fine_labels)
    assert (original.rgb - changed.rgb).abs().mean() > 0.05


def test_one_face_many_cameras_equals_one_render_per_camera():
    face = faces_from_seeds([2])
    together = render_face(face, VIEWS, 24)
    for view in range(3):
        alone = render_face(face, VIEWS[view], 24)
        assert torch.equal(together.fine_labels[view], alone.fine_labels[0])
        torch.testing.assert_close(together.rgb[view], alone.rgb[0])


def test_front_view_is_framed_like_an_ffhq_crop():
    labels = render_face(faces_from_seeds(range(4)), named_camera("front"), 48).fine_labels
    rows = torch.arange(48).view(1, 48, 1).expand_as(labels).float() / 48

    def mean_row(names):
        mask = sum(labels == ID[name] for name in names).bool()
        return rows[mask].mean().item()

    assert mean_row(["hair", "hat"]) < 0.35
    assert 0.35 < mean_row(["sclera", "iris", "pupil"]) < 0.5
    assert 0.62 < mean_row(["upper_lip", "lower_lip"]) < 0.8
    assert mean_row(["cloth"]) > 0.9
    bottom_corners = torch.cat([labels[:, -3:, :6], labels[:, -3:, -6:]], -1)
    assert (bottom_corners == ID["cloth"]).float().mean() > 0.5
