"""Regions synthface has no fine label for, defined on the face's 3D surface.

The cheek patch is a blush-sized disc of skin on the face's left cheek (+x: seen by the
front and `right` views). Its anchor lies `CHEEK_OUT` outward and `CHEEK_DROP` below the
centre of the face's own left eye (`eye_placement`), on the skin straight in front of that
point (the first zero of the distance field along −z). A pixel of a render is in the patch
when its fine label is skin and its surface point (ray origin + depth · direction) lies
within `CHEEK_RADIUS` of the anchor: the same 3D points at every view, moving with the eyes.
"""

from __future__ import annotations

import torch

from ffedit.camera import unpack_cameras
from ffedit.layouts import FINE_LABEL_IDS
from ffedit.render import rays_from_cameras
from ffedit.synthface.geometry import HeadShape, eye_placement, face_geometry
from ffedit.synthface.params import Face
from ffedit.synthface.render import SynthRender, faces_and_cameras

Tensor = torch.Tensor
SKIN_LABELS = ("skin_face", "skin_jaw", "skin_chin")
"""Fine labels of the skin surface a patch may cover."""
CHEEK_OUT = 0.012
"""Anchor offset outward (+x) of the left eye's centre (world units)."""
CHEEK_DROP = 0.068
"""Anchor offset below the left eye's centre (world units)."""
CHEEK_RADIUS = 0.036
"""Surface points within this distance of the anchor form the patch (world units)."""
SEARCH_DEPTHS = (0.4, 0.15, 501)
"""z from, to and count of the samples searched for the cheek surface (it lies in between
for every valid face)."""


def cheek_anchor(face: Face) -> Tensor:
    """(B, 3) the centre of each face's cheek patch, on its skin surface (module doc)."""
    eyes = eye_placement(HeadShape.of(face))
    z = torch.linspace(*SEARCH_DEPTHS, device=face.shape.device)
    count = len(z)
    points = torch.stack(
        [
            (eyes.x + CHEEK_OUT).expand(-1, count),
            (eyes.y - CHEEK_DROP).expand(-1, count),
            z.expand(len(face), -1),
        ],
        dim=-1,
    )
    inside = face_geometry(face, points, with_labels=False).opaque.sdf <= 0  # (B, Z)
    if not inside.any(1).all():
        raise ValueError("no cheek surface found in front of a face's cheek anchor")
    return points[torch.arange(len(face)), inside.float().argmax(1)]


def cheek_patch_masks(face: Face, cameras: Tensor, rendered: SynthRender) -> Tensor:
    """(B, H, W) bool: the cheek patch in `rendered`, the `render_face` output of these faces
    and cameras (B, 25) or (25,), or of one face from several cameras."""
    face, cameras = faces_and_cameras(face, cameras)
    labels = rendered.fine_labels
    origins, directions = rays_from_cameras(*unpack_cameras(cameras), labels.shape[-1])
    points = origins + rendered.depth.flatten(1).unsqueeze(-1) * directions  # (B, R, 3)
    near = torch.linalg.vector_norm(points - cheek_anchor(face)[:, None], dim=-1) <= CHEEK_RADIUS
    skin = torch.tensor([FINE_LABEL_IDS[name] for name in SKIN_LABELS], device=labels.device)
    return near.reshape(labels.shape) & torch.isin(labels, skin)
