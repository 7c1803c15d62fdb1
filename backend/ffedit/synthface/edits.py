"""Edit operators: named, signed changes of one shape parameter, with the exact edited face.

`apply_edit(face, "eyes.scale", +1.0)` moves the operator's parameter by one `step` (any
real amount, in steps) and clamps it to the parameter's valid range. The edited face's
masks at any view and in any layout are the ground-truth edit targets; its renders are the
reference results. Each operator also names the fine labels whose pixels it changes, so a
benchmark can ask which classes of a layout an edit touches (`edit_classes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ffedit.layouts import FINE_LABEL_IDS as ID
from ffedit.layouts import Layout, class_of_fine_label
from ffedit.synthface.params import Face


@dataclass(frozen=True)
class EditOperator:
    """One named edit of a shape parameter."""

    name: str
    """Operator name, `part.change` (e.g. `eyes.scale`)."""
    parameter: str
    """The shape parameter it moves."""
    step: float
    """Parameter change per unit amount (positive amounts grow / raise / open)."""
    fine_labels: tuple[str, ...]
    """Fine labels whose pixels the edit changes (the parts it is about and their rims)."""
    doc: str
    """What a positive amount does."""


_EYE = ("sclera", "iris", "pupil", "eyelid")
_NOSE = ("nose_ridge", "nose_tip", "nasal_ala", "nostril")

EDIT_OPERATORS: dict[str, EditOperator] = {
    op.name: op
    for op in (
        EditOperator("eyes.scale", "eye_scale", 0.08, _EYE, "bigger eyes (eyeball, opening, lids)"),
        EditOperator("iris.scale", "iris_scale", 0.1, ("sclera", "iris", "pupil"), "bigger irises"),
        EditOperator("pupil.scale", "pupil_scale", 0.2, ("iris", "pupil"), "bigger pupils"),
        EditOperator("eyelid.lower", "eyelid_lower", 0.4, _EYE, "lower lids rise over the eyes"),
        EditOperator("nose.width", "nose_width", 0.1, _NOSE, "wider nose"),
        EditOperator("nose.length", "nose_length", 0.07, _NOSE, "longer nose"),
        EditOperator("ala.width", "ala_width", 0.15, _NOSE, "larger nasal alae"),
        EditOperator(
            "chin.length", "chin_length", 0.008, ("skin_chin", "skin_jaw", "neck"), "longer chin"
        ),
        EditOperator(
            "jaw.width", "jaw_width", 0.08, ("skin_face", "skin_jaw", "neck"), "wider jaw"
        ),
        EditOperator(
            "mouth.open",
            "mouth_open",
            0.35,
            ("upper_lip", "lower_lip", "mouth_inner", "teeth", "skin_chin"),
            "open mouth (lips part, jaw drops, teeth show)",
        ),
        EditOperator(
            "lips.thickness",
            "lip_thickness",
            0.15,
            ("upper_lip", "lower_lip", "mouth_inner"),
            "fuller lips",
        ),
        EditOperator("brows.raise", "brow_height", 0.004, ("brow",), "higher eyebrows"),
    )
}
"""Every edit operator by name."""


def get_edit_operator(name: str) -> EditOperator:
    try:
        return EDIT_OPERATORS[name]
    except KeyError:
        raise KeyError(f"unknown edit {name!r}; known edits: {', '.join(EDIT_OPERATORS)}") from None


def apply_edit(face: Face, name: str, amount: float) -> Face:
    """The faces with edit `name` applied by `amount` steps (clamped to the valid range)."""
    operator = get_edit_operator(name)
    value = face.parameter(operator.parameter) + amount * operator.step
    return face.with_shape_value(operator.parameter, value)


def edit_classes(name: str, layout: Layout) -> tuple[int, ...]:
    """Ids of the (non-background) classes of `layout` whose pixels edit `name` changes."""
    table = class_of_fine_label(layout)
    ids = {int(table[ID[label]]) for label in get_edit_operator(name).fine_labels}
    return tuple(sorted(ids - {0}))
