"""Edit operators: each grows (or moves) the parts it is about at every view and leaves
far-away parts pixel-for-pixel untouched."""

import pytest
import torch

from ffedit.camera import fov_to_intrinsics, look_at_poses, pack_cameras
from ffedit.layouts import FINE_LABEL_IDS as ID
from ffedit.layouts import get_layout
from ffedit.synthface import faces_from_seeds, render_face
from ffedit.synthface.edits import EDIT_OPERATORS, apply_edit, edit_classes

_EYES = ["sclera", "iris", "pupil", "eyelid", "brow"]
_NOSE = ["nose_ridge", "nose_tip", "nasal_ala", "nostril"]
_MOUTH = ["upper_lip", "lower_lip", "mouth_inner", "teeth"]
_BODY = ["hair", "cloth", "ear"]
# operator: (labels whose pixel count grows, labels that shrink, far-away labels that must
# not change, zoom)
EXPECTATIONS = {
    "eyes.scale": (["sclera", "iris"], [], _MOUTH + _BODY + ["nostril", "neck"], 2.0),
    "iris.scale": (["iris"], [], _MOUTH + _NOSE + _BODY + ["eyelid", "brow"], 2.0),
    "pupil.scale": (["pupil"], [], _MOUTH + _NOSE + _BODY + ["eyelid", "sclera", "brow"], 2.0),
    "eyelid.lower": ([], ["sclera", "iris"], _MOUTH + _NOSE + _BODY + ["brow"], 2.0),
    "nose.width": (["nose_tip", "nasal_ala"], [], _EYES + _BODY + ["teeth", "neck"], 2.0),
    "nose.length": (["nose_ridge"], [], _EYES + _BODY + ["neck"], 2.0),
    "ala.width": (["nasal_ala"], [], _EYES + _BODY + ["teeth", "neck"], 2.0),
    "chin.length": (["skin_chin"], [], _EYES + _NOSE + ["ear"], 1.0),
    "jaw.width": (["skin_jaw"], [], _EYES + _NOSE + _MOUTH, 1.0),
    "mouth.open": (["mouth_inner", "teeth"], [], _EYES + _NOSE + _BODY, 1.5),
    "lips.thickness": (["upper_lip", "lower_lip"], [], _EYES + _BODY + ["neck"], 1.5),
    "brows.raise": ([], [], _MOUTH + _NOSE + _BODY + ["sclera", "iris", "pupil"], 2.0),
}


def _cameras(zoom):
    """Front, left and right cameras with the focal length × zoom (a centred crop)."""
    yaw = torch.tensor([torch.pi / 2, torch.pi / 2 - 0.4, torch.pi / 2 + 0.4])
    intrinsics = fov_to_intrinsics()
    intrinsics[:2, :2] *= zoom
    return pack_cameras(look_at_poses(yaw, torch.full((3,), torch.pi / 2)), intrinsics)


@pytest.fixture(scope="module")
def plain_face():
    """The first face with no glasses, hat or fringe and a closed mouth."""
    faces = faces_from_seeds(range(40))
    for index in range(40):
        if all(faces.parameter(n)[index] == 0 for n in ("glasses", "hat", "bangs", "mouth_open")):
            return faces[index]
    raise AssertionError("no plain face among the first 40 seeds")


def test_every_operator_has_expectations():
    assert set(EXPECTATIONS) == set(EDIT_OPERATORS)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPECTATIONS))
def test_edit_changes_its_parts_at_every_view_and_leaves_far_parts_alone(plain_face, name):
    grows, shrinks, far, zoom = EXPECTATIONS[name]
    cameras = _cameras(zoom)
    before = render_face(plain_face, cameras, 64).fine_labels
    after = render_face(apply_edit(plain_face, name, 2.0), cameras, 64).fine_labels
    for label in grows:
        count_before = (before == ID[label]).sum((1, 2))
        count_after = (after == ID[label]).sum((1, 2))
        assert (count_after > count_before).all(), (label, count_before, count_after)
    for label in shrinks:
        count_before = (before == ID[label]).sum((1, 2))
        count_after = (after == ID[label]).sum((1, 2))
        assert (count_after < count_before).all(), (label, count_before, count_after)
    if name == "brows.raise":  # same brows, higher: their mean row moves up at every view
        rows = torch.arange(64.0).view(1, 64, 1)
        for view in range(3):
            b, a = before[view] == ID["brow"], after[view] == ID["brow"]
            assert rows[0].expand(64, 64)[a].mean() < rows[0].expand(64, 64)[b].mean()
    for label in far:
        assert torch.equal(before == ID[label], after == ID[label]), label
    assert (before != after).any()


def test_apply_edit_moves_one_parameter_by_steps_and_clamps():
    face = faces_from_seeds([0])
    edited = apply_edit(face, "nose.width", -1.5)
    change = edited.shape - face.shape
    operator = EDIT_OPERATORS["nose.width"]
    assert torch.count_nonzero(change) == 1
    assert edited.parameter("nose_width").item() == pytest.approx(
        face.parameter("nose_width").item() - 1.5 * operator.step
    )
    assert apply_edit(face, "mouth.open", -50).parameter("mouth_open").item() == 0.0
    with pytest.raises(KeyError, match="unknown edit"):
        apply_edit(face, "ears.wiggle", 1.0)


def test_edit_classes_name_the_layout_classes_an_edit_touches():
    eyes19, base15 = get_layout("eyes19"), get_layout("base15")
    assert edit_classes("pupil.scale", eyes19) == (16, 17)  # iris, pupil
    assert edit_classes("pupil.scale", base15) == (3,)  # eye
    assert edit_classes("brows.raise", base15) == (2,)
    assert 18 in edit_classes("eyelid.lower", eyes19)
