"""The synthface head as signed distances: every part, where it sits, and its fine label.

World units, +y up, the face looks toward +z; at the FFHQ front camera the eye line is a
little above the image centre, the chin near the bottom and the shoulders in the bottom
corners (see docs/synthface.md for the numbers). One world unit is about 43 cm.

`face_geometry` evaluates the whole head at points (B, N) for B faces: the distance to the
opaque surface (skin, eyes, hair, clothes, accessories), the distance to the glasses'
lenses (rendered half-transparent), and optionally the fine label of the part nearest to
each point. Shape parameters only: appearance never changes geometry or labels.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from ffedit.layouts import FINE_LABEL_IDS as ID
from ffedit.synthface.params import SHAPE_PARAMETERS, Face
from ffedit.synthface.sdf import (
    Node,
    capsule,
    ellipsoid,
    intersect,
    leaf,
    length3,
    paint,
    rotate,
    rounded_box,
    rounded_rect,
    sphere,
    subtract,
    torus,
    union,
    union_all,
)

Tensor = torch.Tensor
BOX_MARGIN = 0.01
"""Every surface stays this far inside the [-0.5, 0.5]³ box."""
NO_SURFACE = 1.0
"""Distance used for an absent part (an accessory that is off)."""
NOSE = (ID["nose_ridge"], ID["nose_tip"], ID["nasal_ala"])


class HeadShape:
    """Shape parameters by name (`shape.eye_scale`): (B, 1) columns, or (n,) per point."""

    def __init__(self, columns: dict[str, Tensor]) -> None:
        self._columns = columns

    @classmethod
    def of(cls, face: Face) -> HeadShape:
        return cls(
            {
                spec.name: face.shape[:, index : index + 1]
                for index, spec in enumerate(SHAPE_PARAMETERS)
            }
        )

    def rows(self, batch_index: Tensor) -> HeadShape:
        """Per-point parameters (n,) for points of the faces `batch_index` (n,)."""
        return HeadShape({name: column[batch_index, 0] for name, column in self._columns.items()})

    def __getattr__(self, name: str) -> Tensor:
        try:
            return self.__dict__["_columns"][name]
        except KeyError:
            raise AttributeError(name) from None


class FaceGeometry(NamedTuple):
    opaque: Node
    """Distance (B, N) to the opaque surface and, if asked, its fine labels (B, N)."""
    lens: Tensor
    """Distance (B, N) to the glasses' lenses (NO_SURFACE where there are none)."""
    clearance: Tensor
    """(B, N) lower bound of the distance to the facial details where they were not
    evaluated (+inf elsewhere): sphere tracing steps by min(opaque, lens, clearance)."""


EYELID_MARGIN = 0.0045
"""Width of the lid margin labelled `eyelid` around the eye opening (× eye_scale)."""


class Eyes(NamedTuple):
    """Where the eyes are: centre (mirrored: x ≥ 0) and eyeball radius, (B, 1) each."""

    x: Tensor
    y: Tensor
    z: Tensor
    radius: Tensor


def eye_placement(s: HeadShape) -> Eyes:
    return Eyes(
        x=0.063 + s.eye_spacing,
        y=0.015 + s.eye_height,
        z=torch.full_like(s.eye_scale, 0.248),
        radius=0.028 * s.eye_scale,
    )


def _mouth_y(s: HeadShape) -> Tensor:
    return -0.118 * s.face_length


def _skin(s: HeadShape, x, y, z, ax, labels: bool) -> Node:
    """Cranium, forehead, midface, cheeks, mouth region, jaw and chin (smoothly joined)."""
    hw, fl = s.head_width, s.face_length
    cranium = ellipsoid(x, y, z, 0, 0.06, 0.055, 0.163 * hw, 0.21 * s.head_height, 0.225)
    forehead = ellipsoid(x, y, z, 0, 0.09, 0.165, 0.12 * hw, 0.1, 0.12)
    brow_ridge = ellipsoid(x, y, z, 0, 0.045, 0.2, 0.122 * hw, 0.03, 0.097)
    midface = ellipsoid(x, y, z, 0, -0.02 * fl, 0.15, 0.135 * hw, 0.12 * fl, 0.13)
    cheeks = ellipsoid(
        ax, y, z, 0.07 * hw, -0.035 * fl, 0.205, 0.05 * s.cheek_fullness, 0.045, 0.055
    )
    lower_cheeks = ellipsoid(ax, y, z, 0.072 * hw, -0.09 * fl, 0.165, 0.055, 0.06, 0.065)
    muzzle = ellipsoid(x, y, z, 0, -0.105 * fl, 0.2, 0.07, 0.065 * fl, 0.08)
    face = union_all(
        [
            leaf(cranium, ID["skin_face"], labels),
            leaf(forehead, ID["skin_face"], labels),
            leaf(brow_ridge, ID["skin_face"], labels),
            leaf(midface, ID["skin_face"], labels),
            leaf(cheeks, ID["skin_face"], labels),
            leaf(lower_cheeks, ID["skin_face"], labels),
            leaf(muzzle, ID["skin_face"], labels),
        ],
        k=0.03,
    )
    chin_y = -0.2 * fl - s.chin_length - 0.012 * s.mouth_open
    angle = (0.108 * s.jaw_width * hw, -0.095 * fl, 0.03)
    jaw = capsule(ax, y, z, angle, (0.032, chin_y + 0.008, 0.195), 0.036, 0.028)
    chin = ellipsoid(x, y, z, 0, chin_y, 0.225, 0.042 * s.chin_width, 0.034, 0.04)
    face = union(face, leaf(jaw, ID["skin_jaw"], labels), k=0.045)
    return union(face, leaf(chin, ID["skin_chin"], labels), k=0.025)


def _eyes(s: HeadShape, x, y, z, ax, face: Node, labels: bool) -> Node:
    """Eye sockets, eyeballs (sclera, iris, pupil) and the lids around the opening."""
    eyes = eye_placement(s)
    qx, qy, qz = ax - eyes.x, y - eyes.y, z - eyes.z
    radius = eyes.radius
    socket = ellipsoid(qx, qy, qz, 0, 0.002, 0.012, 1.12 * radius, 0.78 * radius, radius)
    face = subtract(face, leaf(socket, ID["skin_face"], labels), k=0.008)
    distance = length3(qx, qy, qz)
    eyeball = distance - radius
    # The opening (palpebral fissure) is the intersection of two circles through the
    # corners: an almond shape, tilted by the canthal tilt, extruded along z.
    u, v = rotate(qx, qy, -s.eye_tilt)
    half_width = radius
    upper = radius * (0.6 - 0.22 * s.eyelid_upper)
    lower = radius * (0.46 - 0.2 * s.eyelid_lower)
    upper_radius = (half_width**2 + upper**2) / (2 * upper)
    lower_radius = (half_width**2 + lower**2) / (2 * lower)
    opening = torch.maximum(
        torch.sqrt(u * u + (v - upper + upper_radius) ** 2) - upper_radius,
        torch.sqrt(u * u + (v + lower - lower_radius) ** 2) - lower_radius,
    )
    shell = (distance - radius - 0.0028).abs() - 0.0022
    lids = torch.maximum(shell, -opening)
    ball = leaf(eyeball, ID["sclera"], labels)
    if labels:
        axial = torch.sqrt(qx * qx + qy * qy)
        front = qz > 0
        iris_radius = 0.0118 * s.iris_scale * s.eye_scale
        pupil_radius = torch.minimum(0.0042 * s.pupil_scale * s.eye_scale, 0.8 * iris_radius)
        label = torch.where(front & (axial < iris_radius), ID["iris"], ID["sclera"])
        ball = Node(eyeball, torch.where(front & (axial < pupil_radius), ID["pupil"], label))
    # Only the lid margin along the opening is `eyelid`; the rest of the lid is skin.
    margin = torch.where(opening < EYELID_MARGIN * s.eye_scale, ID["eyelid"], ID["skin_face"])
    face = union(face, Node(lids, margin if labels else None), k=0.004)
    return union(face, ball)


def _brows(s: HeadShape, x, y, z, ax, face: Node) -> Node:
    """Eyebrows painted onto the skin of the brow ridge: a tapering arched band."""
    eyes = eye_placement(s)
    inner, outer = eyes.x - 0.034, eyes.x + 0.042
    t = ((ax - inner) / (outer - inner)).clamp(0, 1)
    centre = (
        eyes.y
        + 0.034
        + s.brow_height
        + 0.007 * torch.sin(math.pi * t**0.8)
        + s.brow_angle * (ax - inner) * 0.5
    )
    half_thickness = 0.0052 * s.brow_thickness * (1.15 - 0.6 * t)
    inside = ((y - centre).abs() < half_thickness) & (ax > inner) & (ax < outer) & (z > 0.16)
    return paint(face, inside, ID["brow"], (ID["skin_face"],))


def _nose(s: HeadShape, x, y, z, ax, labels: bool) -> Node:
    """Bridge (ridge), tip, alae; nostrils are painted on the underside."""
    nw, nl = s.nose_width, s.nose_length
    nasion = (0.0, 0.022, 0.268)
    tip = (0.0, 0.022 - 0.08 * nl, 0.268 + 0.048 * s.nose_projection)
    ridge = capsule(x, y, z, nasion, (0.0, tip[1] + 0.008, tip[2] - 0.01), 0.0095 * nw, 0.012 * nw)
    tip_ball = sphere(x, y, z, 0, tip[1], tip[2], 0.0145 * s.nose_tip * nw**0.5)
    ala_size = 0.012 * s.ala_width
    alae = ellipsoid(
        ax,
        y,
        z,
        0.02 * nw + 0.25 * ala_size,
        tip[1] - 0.006,
        tip[2] - 0.024,
        ala_size,
        0.85 * ala_size,
        1.15 * ala_size,
    )
    nose = union_all(
        [
            leaf(ridge, ID["nose_ridge"], labels),
            leaf(tip_ball, ID["nose_tip"], labels),
            leaf(alae, ID["nasal_ala"], labels),
        ],
        k=0.016,
    )
    nostril = ellipsoid(
        ax, y, z, 0.009 * nw, tip[1] - 0.0105, tip[2] - 0.009, 0.0068, 0.0062, 0.013
    )
    return paint(nose, nostril < 0, ID["nostril"], NOSE)


def _mouth(s: HeadShape, x, y, z, ax, face: Node, labels: bool) -> Node:
    """Lips, the mouth opening (a carved cavity) and the teeth inside it."""
    mouth_y, lt, mw, opened = _mouth_y(s), s.lip_thickness, s.mouth_width, s.mouth_open
    bent = z + 4.0 * x * x  # lips and teeth follow the dental arch
    upper = ellipsoid(x, y, bent, 0, mouth_y + 0.0072 * lt, 0.278, 0.048 * mw, 0.0085 * lt, 0.014)
    lower_y = mouth_y - 0.0095 * lt - 0.016 * opened
    lower = ellipsoid(x, y, bent, 0, lower_y, 0.275, 0.043 * mw, 0.0105 * lt, 0.0135)
    face = union(face, leaf(upper, ID["upper_lip"], labels), k=0.008)
    face = union(face, leaf(lower, ID["lower_lip"], labels), k=0.008)
    gap = ellipsoid(
        x, y, bent, 0, mouth_y - 0.008 * opened, 0.28, 0.044 * mw, 0.0012 + 0.0105 * opened, 0.034
    )
    face = subtract(face, leaf(gap, ID["mouth_inner"], labels), k=0.002)
    upper_teeth = rounded_box(
        x, y, bent, 0, mouth_y + 0.0012, 0.266, 0.03 * mw, 0.0055, 0.005, 0.003
    )
    lower_teeth = rounded_box(
        x, y, bent, 0, mouth_y - 0.016 * opened - 0.0025, 0.264, 0.026 * mw, 0.005, 0.005, 0.003
    )
    return union(face, leaf(torch.minimum(upper_teeth, lower_teeth), ID["teeth"], labels))


def _ears(s: HeadShape, x, y, z, ax, labels: bool) -> Node:
    """Ears: flattened ellipsoids turned outward, with a carved bowl (concha)."""
    scale = s.ear_scale
    cx = 0.161 * s.head_width
    u, w = rotate(ax - cx, z - 0.035, 0.35 + 0.35 * s.ear_flare)
    ear = ellipsoid(u, y, w, 0, -0.008, 0, 0.013, 0.05 * scale, 0.03 * scale)
    bowl = ellipsoid(u, y, w, 0.011, -0.012, 0.003, 0.009, 0.033 * scale, 0.019 * scale)
    return subtract(leaf(ear, ID["ear"], labels), leaf(bowl, ID["ear"], labels), k=0.004)


def _neck_and_clothes(s: HeadShape, x, y, z, ax, labels: bool) -> Node:
    """Neck (a tilted elliptic cylinder) and the torso's clothing with its neckline."""
    nw = s.neck_width
    neck = capsule(x * 0.95, y, z, (0.0, -0.1, 0.005), (0.0, -0.45, -0.03), 0.09 * nw)
    sw = s.shoulder_width
    shoulders = capsule(ax, y, z, (0.0, -0.335, -0.035), (0.27 * sw, -0.355, -0.035), 0.11)
    chest = ellipsoid(x, y, z, 0, -0.48, 0.0, 0.3 * sw, 0.17, 0.15)
    cloth = union(leaf(shoulders, ID["cloth"], labels), leaf(chest, ID["cloth"], labels), k=0.06)
    # Neckline: a V cut in front, deeper for open collars.
    depth = -0.3 - 0.09 * s.collar
    v_cut = torch.maximum((depth - y) * 0.7 + (ax - 0.03) * 0.7, -z)
    cloth = subtract(cloth, leaf(v_cut, ID["cloth"], labels), k=0.01)
    return union(leaf(neck, ID["neck"], labels), cloth, k=0.004)


def _hair(s: HeadShape, x, y, z, ax, labels: bool) -> Node:
    """A shell over the skull above the hairline, fringe, and a long-hair mass behind."""
    volume = s.hair_volume
    hw = s.head_width
    shell = ellipsoid(
        x,
        y,
        z,
        0,
        0.06 + 0.2 * volume,
        0.055,
        0.163 * hw + 1.2 * volume,
        0.21 * s.head_height + 1.3 * volume,
        0.225 + volume,
    )
    # Hairline: a plane rising toward the face, higher at the temples for receding lines.
    slope = 0.85
    line = 0.148 + 0.04 * s.hairline + (0.4 + 1.5 * s.hairline) * x * x
    above = ((y - line) - slope * (z - 0.28)) / math.sqrt(1 + slope**2)
    fringe_line = line - 0.075 * s.bangs
    no_fringe = (s.bangs <= 0).to(y.dtype)  # 1: the fringe region is empty
    fringe = torch.maximum(fringe_line - y, (ax - 0.115).clamp_min(0) + no_fringe)
    region = torch.minimum(-above, fringe)
    # Short hair clears the ears.
    ear_gap = 0.066 * (1 - s.hair_length) - length3(ax - 0.17 * hw, y + 0.01, z - 0.035)
    region = torch.maximum(region, ear_gap)
    hair = intersect(leaf(shell, ID["hair"], labels), region, k=0.012)
    length = s.hair_length
    bottom = 0.02 - 0.36 * length
    mass = ellipsoid(
        x,
        y,
        z,
        0,
        (0.2 + bottom) / 2,
        -0.025,
        0.163 * hw + 1.2 * volume + 0.03 * length,
        (0.2 - bottom) / 2,
        0.205 + volume,
    )
    sides = torch.maximum(z - 0.11, torch.minimum(0.115 * hw - ax, z + 0.04))
    mass = torch.maximum(mass, sides)
    return union(hair, leaf(mass, ID["hair"], labels), k=0.02)


def _hat(s: HeadShape, x, y, z, labels: bool) -> Node:
    """A beanie or, for larger hat values, a cap with a brim; absent when hat = 0."""
    lift = s.hair_volume + 0.014
    dome = ellipsoid(
        x,
        y,
        z,
        0,
        0.06,
        0.055,
        0.163 * s.head_width + lift,
        0.21 * s.head_height + lift,
        0.225 + lift,
    )
    band = 0.17 + 0.35 * (z - 0.28)
    dome = torch.maximum(dome, band - y)
    brim = ellipsoid(x, y, z, 0, 0.178, 0.29, 0.12, 0.005, 0.1)
    brim = torch.where(s.hat > 0.5, brim, NO_SURFACE)
    hat = torch.where(s.hat > 0, torch.minimum(dome, brim), NO_SURFACE)
    return leaf(hat, ID["hat"], labels)


def _lens_outline(s: HeadShape, ax, y) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """2D distance to the lens outline, and the lens centre height, depth and half-width."""
    eyes = eye_placement(s)
    size = 0.9 + 0.25 * s.glasses
    lens_x, lens_y = eyes.x + 0.002, eyes.y - 0.003
    half_width = 0.029 * size
    outline = rounded_rect(ax - lens_x, y - lens_y, half_width, 0.021 * size, 0.011 * size)
    return outline, lens_x, lens_y, half_width


LENS_Z = 0.298
"""Depth of the glasses' lens plane."""


def _glasses_front(s: HeadShape, x, y, z, ax, labels: bool) -> tuple[Node, Tensor]:
    """Rims, bridge and lenses in front of the eyes (absent when glasses = 0)."""
    outline, lens_x, lens_y, half_width = _lens_outline(s, ax, y)
    depth = (z - LENS_Z).abs()
    rims = torch.maximum(outline.abs() - 0.0022, depth - 0.003)
    lens = torch.maximum(outline, depth - 0.0025)
    inner = lens_x - half_width
    bridge = capsule(
        ax, y, z, (0.0, lens_y + 0.007, LENS_Z), (inner, lens_y + 0.007, LENS_Z), 0.002
    )
    worn = s.glasses > 0
    frame = torch.where(worn, torch.minimum(rims, bridge), NO_SURFACE)
    return leaf(frame, ID["glasses"], labels), torch.where(worn, lens, NO_SURFACE)


def _glasses_temples(s: HeadShape, x, y, z, ax, labels: bool) -> Node:
    """The arms of the glasses, from the outer rims back over the ears."""
    _, lens_x, lens_y, half_width = _lens_outline(s, ax, y)
    start = (lens_x + half_width, lens_y + 0.009, LENS_Z - 0.002)
    end = (0.158 * s.head_width + 0.008, 0.045, 0.035)
    temples = capsule(ax, y, z, start, end, 0.0022)
    return leaf(torch.where(s.glasses > 0, temples, NO_SURFACE), ID["glasses"], labels)


def _jewellery(s: HeadShape, x, y, z, ax, labels: bool) -> Node:
    """Earrings under the ear lobes and a necklace around the neck; each may be absent."""
    ear_x = 0.161 * s.head_width + 0.004
    lobe_y = -0.008 - 0.047 * s.ear_scale
    drop = 0.004 + 0.014 * s.earrings
    stud = sphere(ax, y, z, ear_x, lobe_y, 0.045, 0.0045)
    pendant = sphere(ax, y, z, ear_x, lobe_y - drop, 0.045, 0.0055)
    chain = capsule(ax, y, z, (ear_x, lobe_y, 0.045), (ear_x, lobe_y - drop, 0.045), 0.0012)
    earrings = torch.minimum(torch.minimum(stud, pendant), chain)
    earrings = torch.where(s.earrings > 0, earrings, NO_SURFACE)
    # Necklace: a torus around the neck, tilted so that it hangs lower in front.
    tilt = -0.42
    u, w = rotate(y + 0.245, z + 0.012, tilt)
    ring = torus(x, u, w, 0.092 * s.neck_width + 0.006, 0.0026)
    front = (0.0, -0.245 - 0.1 * math.sin(-tilt) - 0.01, 0.092 * math.cos(tilt) + 0.01)
    pendant = sphere(x, y, z, front[0], front[1], front[2], 0.003 + 0.006 * s.necklace)
    necklace = torch.where(s.necklace > 0, torch.minimum(ring, pendant), NO_SURFACE)
    return union(leaf(earrings, ID["earring"], labels), leaf(necklace, ID["necklace"], labels))


DETAIL_CENTRE = (0.0, -0.045, 0.27)
DETAIL_RADIUS = 0.17
"""Every facial detail (eyes, sockets, nose, lips, mouth, glasses front) lies within
DETAIL_RADIUS − DETAIL_MARGIN of DETAIL_CENTRE for all valid parameters, so points outside
that sphere can skip them."""
DETAIL_MARGIN = 0.01


def _details(s: HeadShape, x, y, z, head: Node, labels: bool) -> tuple[Node, Tensor]:
    """Nose, mouth, eyes and the glasses' front added to the head; and the lens distance."""
    ax = x.abs()
    head = union(head, _nose(s, x, y, z, ax, labels), k=0.016)
    head = _mouth(s, x, y, z, ax, head, labels)
    head = _eyes(s, x, y, z, ax, head, labels)
    frame, lens = _glasses_front(s, x, y, z, ax, labels)
    return union(head, frame), lens


def _details_near(s: HeadShape, points: Tensor, head: Node, labels: bool):
    """`_details` evaluated only at points inside the detail sphere (B, N) → (B, N)."""
    x, y, z = points.unbind(-1)
    outside = sphere(x, y, z, *DETAIL_CENTRE, DETAIL_RADIUS)
    near = torch.nonzero((outside <= 0).reshape(-1)).squeeze(-1)
    lens = torch.full_like(outside, NO_SURFACE)
    clearance = torch.where(outside > 0, outside + DETAIL_MARGIN, torch.inf)
    if near.numel() == 0:
        return head, lens, clearance
    batch_index = near // points.shape[1]
    near_points = points.reshape(-1, 3)[near]
    label = None
    if labels:
        label = torch.as_tensor(head.label, device=points.device).expand_as(outside)
        label = label.reshape(-1)[near]
    sub, sub_lens = _details(
        s.rows(batch_index),
        *near_points.unbind(-1),
        Node(head.sdf.reshape(-1)[near], label),
        labels,
    )

    def scatter(full: Tensor, values: Tensor) -> Tensor:
        return full.reshape(-1).index_put((near,), values).reshape(full.shape)

    sdf = scatter(head.sdf, sub.sdf)
    if labels:
        full_label = torch.as_tensor(head.label, device=points.device).expand_as(outside)
        label = scatter(full_label.contiguous(), torch.as_tensor(sub.label).expand_as(sub.sdf))
    return Node(sdf, label), scatter(lens, sub_lens), clearance


def face_geometry(face: Face, points: Tensor, with_labels: bool, cull: bool = True) -> FaceGeometry:
    """Distances (and fine labels) of B faces at points (B, N, 3).

    `cull` evaluates the facial details only inside their bounding sphere (the fast path;
    `cull=False` is its plain reference: the same surfaces, labels within blending noise).
    """
    s = HeadShape.of(face)
    x, y, z = points.unbind(-1)
    ax = x.abs()
    head = _skin(s, x, y, z, ax, with_labels)
    if cull:
        head, lens, clearance = _details_near(s, points, head, with_labels)
    else:
        head, lens = _details(s, x, y, z, head, with_labels)
        clearance = torch.full_like(lens, torch.inf)
    head = _brows(s, x, y, z, ax, head)
    head = union(head, _ears(s, x, y, z, ax, with_labels), k=0.008)
    body = union(head, _neck_and_clothes(s, x, y, z, ax, with_labels), k=0.03)
    body = union(body, _hair(s, x, y, z, ax, with_labels))
    body = union(body, _hat(s, x, y, z, with_labels))
    body = union(body, _glasses_temples(s, x, y, z, ax, with_labels))
    body = union(body, _jewellery(s, x, y, z, ax, with_labels))
    box = (points.abs() - (0.5 - BOX_MARGIN)).amax(-1)
    return FaceGeometry(intersect(body, box), torch.maximum(lens, box), clearance)
