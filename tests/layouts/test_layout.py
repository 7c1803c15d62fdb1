"""Layouts as data: built-ins, precedence of later classes, validation, JSON round trips."""

import json

import numpy as np
import pytest
import torch

from ffedit.layouts import (
    BUILTIN_LAYOUTS,
    FINE_LABEL_IDS,
    FINE_LABELS,
    InvalidLayout,
    LayoutClass,
    UnknownLayout,
    atlas_layout,
    class_of_fine_label,
    extend_layout,
    get_layout,
    labels_from_fine,
    layout_from_json,
    layout_to_json,
)


def test_builtins_have_the_reference_sizes_names_and_colours():
    sizes = {name: layout.num_classes for name, layout in BUILTIN_LAYOUTS.items()}
    assert sizes == {"base15": 15, "base17": 17, "eyes19": 19, "nose19": 19, "chin20": 20}
    base15 = get_layout("base15")
    assert base15.class_names[:4] == ("background", "skin", "brow", "eye")
    assert base15.class_names[14] == "hat"
    assert tuple(base15.colors[7]) == (244, 124, 244)
    assert get_layout("chin20").classes[18].color == (10, 10, 160)
    for layout in BUILTIN_LAYOUTS.values():
        if layout.base is not None:
            base = get_layout(layout.base)
            assert layout.classes[: base.num_classes] == base.classes


def test_every_builtin_covers_every_fine_label():
    for layout in BUILTIN_LAYOUTS.values():
        covered = {label for c in layout.classes for label in c.fine_labels}
        assert covered == set(FINE_LABELS), layout.name


def test_later_classes_take_fine_labels_from_earlier_ones():
    table = class_of_fine_label(get_layout("base17"))
    assert table[FINE_LABEL_IDS["nasal_ala"]] == 15
    assert table[FINE_LABEL_IDS["nose_tip"]] == 7
    assert table[FINE_LABEL_IDS["pupil"]] == 16  # iris covers the pupil in base17
    eyes = class_of_fine_label(get_layout("eyes19"))
    assert eyes[FINE_LABEL_IDS["pupil"]] == 17
    assert eyes[FINE_LABEL_IDS["iris"]] == 16
    assert eyes[FINE_LABEL_IDS["eyelid"]] == 18
    assert class_of_fine_label(get_layout("base15"))[FINE_LABEL_IDS["eyelid"]] == 1


def test_labels_from_fine_maps_a_map_through_the_layout():
    fine = torch.tensor([[FINE_LABEL_IDS["teeth"], FINE_LABEL_IDS["skin_chin"]], [0, 6]])
    assert labels_from_fine(fine, get_layout("base15")).tolist() == [[8, 1], [0, 13]]
    assert labels_from_fine(fine, get_layout("chin20")).tolist() == [[19, 18], [0, 13]]


def test_user_layout_may_have_classes_without_fine_labels():
    layout = extend_layout(
        get_layout("base15"), "freckles", (LayoutClass("freckle", (200, 100, 50)),)
    )
    assert layout.num_classes == 16 and layout.base == "base15"
    assert 15 not in class_of_fine_label(layout)


@pytest.mark.parametrize(
    ("new_class", "message"),
    [
        (LayoutClass("skin", (1, 2, 3)), "duplicate class names"),
        (LayoutClass("mole", (127, 213, 254)), "too close"),
        (LayoutClass("mole", (0, 0, 0)), "may be black"),
        (LayoutClass("mole", (1, 2, 300)), "0–255"),
        (LayoutClass("mole", (1, 2, 3), ("wart",)), "unknown fine labels"),
        (LayoutClass("", (1, 2, 3)), "invalid class name"),
    ],
)
def test_invalid_user_layouts_are_rejected_with_a_reason(new_class, message):
    with pytest.raises(InvalidLayout, match=message):
        extend_layout(get_layout("base15"), "mine", (new_class,))


def test_unknown_layout_lists_the_known_ones():
    with pytest.raises(UnknownLayout, match="base15, base17"):
        get_layout("base99")


def test_json_round_trip_of_builtin_and_user_layouts():
    user = extend_layout(
        get_layout("eyes19"), "lashes", (LayoutClass("lash", (9, 9, 9), ("eyelid",)),)
    )
    for layout in [*BUILTIN_LAYOUTS.values(), user]:
        text = json.dumps(layout_to_json(layout))
        assert layout_from_json(json.loads(text)) == layout


def test_json_that_claims_a_base_but_changes_it_is_rejected():
    data = layout_to_json(get_layout("base17"))
    data["classes"][3]["color"] = [1, 2, 3]
    with pytest.raises(InvalidLayout, match="does not start with its classes"):
        layout_from_json(data)
    with pytest.raises(InvalidLayout, match="malformed"):
        layout_from_json({"name": "x"})


def test_colors_are_uint8():
    assert get_layout("nose19").colors.dtype == np.uint8


def test_atlas_layout_maps_every_fine_label_to_its_own_id():
    atlas = atlas_layout()
    assert atlas.class_names == FINE_LABELS
    assert class_of_fine_label(atlas).tolist() == list(range(len(FINE_LABELS)))
