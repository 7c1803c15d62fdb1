"""synthface: a procedural 3D face world with exact density, colour, fine labels and edits.

A face is a 512-float Gaussian latent mapped to named shape parameters (from z[:256]) and
appearance parameters (from z[256:]). The head is built from smooth signed-distance parts;
`sample_points` answers density, colour and fine label at any 3D point, `render_face`
renders RGB, fine-label maps and depth through the project's camera and compositing code,
edit operators (`apply_edit`) return the exactly edited face, and `regions` gives masks of
surface regions no fine label has (a cheek patch). See docs/synthface.md.
"""

from ffedit.synthface.edits import (
    EDIT_OPERATORS,
    EditOperator,
    apply_edit,
    edit_classes,
    get_edit_operator,
)
from ffedit.synthface.field import PointSamples, albedo_table, raw_density, sample_points
from ffedit.synthface.params import (
    APPEARANCE_PARAMETERS,
    LATENT_DIM,
    SHAPE_DIM,
    SHAPE_PARAMETERS,
    Face,
    ParameterSpec,
    face_from_latent,
    faces_from_seeds,
    latent_from_seed,
    parameter_directions,
    switch_points,
)
from ffedit.synthface.regions import cheek_anchor, cheek_patch_masks
from ffedit.synthface.render import SynthRender, render_face, render_face_reference
from ffedit.synthface.sheet import contact_sheet

__all__ = [
    "APPEARANCE_PARAMETERS",
    "EDIT_OPERATORS",
    "LATENT_DIM",
    "SHAPE_DIM",
    "SHAPE_PARAMETERS",
    "EditOperator",
    "Face",
    "ParameterSpec",
    "PointSamples",
    "SynthRender",
    "albedo_table",
    "apply_edit",
    "cheek_anchor",
    "cheek_patch_masks",
    "contact_sheet",
    "edit_classes",
    "face_from_latent",
    "faces_from_seeds",
    "get_edit_operator",
    "latent_from_seed",
    "parameter_directions",
    "raw_density",
    "render_face",
    "render_face_reference",
    "sample_points",
    "switch_points",
]
