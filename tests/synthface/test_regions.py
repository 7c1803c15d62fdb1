"""The cheek patch: on skin, seen at the front and the view facing that cheek, the same 3D
points at every view, and placed by each face's own eyes."""

import torch

from ffedit.camera import named_camera, unpack_cameras
from ffedit.layouts import FINE_LABEL_IDS
from ffedit.render import rays_from_cameras
from ffedit.synthface import Face, faces_from_seeds, render_face
from ffedit.synthface.regions import CHEEK_RADIUS, SKIN_LABELS, cheek_anchor, cheek_patch_masks

VIEWS = torch.stack([named_camera(view) for view in ("front", "left", "right")])
SIZE = 64
SKIN = torch.tensor([FINE_LABEL_IDS[name] for name in SKIN_LABELS])


def _surface_points(cameras, rendered):
    origins, directions = rays_from_cameras(*unpack_cameras(cameras), SIZE)
    return origins + rendered.depth.flatten(1)[..., None] * directions  # (B, R, 3)


def test_the_patch_is_blush_sized_skin_at_the_front_and_the_right_view():
    face = faces_from_seeds([7])
    rendered = render_face(face, VIEWS, SIZE)
    masks = cheek_patch_masks(face, VIEWS, rendered)
    front, left, right = masks.flatten(1).sum(1).tolist()
    assert 25 <= front <= 75 and right >= front  # ~170 px at 128², ~1 % of the image
    assert left < right  # the left view sees that cheek at a grazing angle
    assert torch.isin(rendered.fine_labels[masks], SKIN).all()


def test_the_patch_is_the_same_surface_points_at_every_view():
    face = faces_from_seeds([3])
    rendered = render_face(face, VIEWS, SIZE)
    masks = cheek_patch_masks(face, VIEWS, rendered).flatten(1)
    points = _surface_points(VIEWS, rendered)
    anchor = cheek_anchor(face)[0]
    centroids = []
    for view in range(3):
        inside = points[view][masks[view]]
        assert (torch.linalg.vector_norm(inside - anchor, dim=-1) <= CHEEK_RADIUS).all()
        centroids.append(inside.mean(0))
        on_skin = torch.isin(rendered.fine_labels[view].flatten(), SKIN)
        outside = points[view][on_skin & ~masks[view]]
        assert (torch.linalg.vector_norm(outside - anchor, dim=-1) > CHEEK_RADIUS).all()
    # the front and the right view see the same disc (its centre within 15 % of its radius)
    assert torch.linalg.vector_norm(centroids[0] - centroids[2]) < 0.15 * CHEEK_RADIUS


def test_the_patch_moves_with_the_eyes_of_each_face():
    face = faces_from_seeds([5])
    low, high = (face.with_shape_value("eye_height", value) for value in (-0.006, 0.006))
    both = Face(torch.cat([low.shape, high.shape]), torch.cat([low.appearance, high.appearance]))
    anchors = cheek_anchor(both)
    assert torch.isclose(anchors[1, 1] - anchors[0, 1], torch.tensor(0.012), atol=1e-5)
    masks = cheek_patch_masks(both, VIEWS[0], render_face(both, VIEWS[0], SIZE))
    rows = [torch.nonzero(mask)[:, 0].float().mean() for mask in masks]
    assert rows[1] < rows[0] - 1  # higher eyes, higher patch (image rows grow downward)
