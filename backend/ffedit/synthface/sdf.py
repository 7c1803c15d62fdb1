"""Signed-distance primitives and CSG with labels, on coordinate tensors.

Points are passed as separate coordinate tensors x, y, z (any broadcastable shapes, e.g.
(B, N) points and (B, 1) parameters), which keeps every primitive a handful of elementwise
ops. Distances are exact for spheres, capsules and boxes and close bounds for ellipsoids
(Quilez's k0·(k0 − 1)/k1 approximation) and tapered capsules.

A `Node` carries a distance and, optionally, the fine label of the part nearest to each
point (`label` None when only geometry is wanted). CSG follows the parts: a union labels a
point with its nearer child, a subtraction with the carving label where the carve decides
the surface, an intersection keeps its first operand's label.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

Tensor = torch.Tensor
Label = Tensor | int | None


class Node(NamedTuple):
    sdf: Tensor
    """Signed distance (negative inside)."""
    label: Label
    """Fine label id per point (a tensor or one int for the whole part), or None."""


def leaf(sdf: Tensor, label: int, with_labels: bool) -> Node:
    return Node(sdf, label if with_labels else None)


def _where(condition: Tensor, a: Label, b: Label) -> Label:
    if a is None:
        return None
    if isinstance(a, int) and isinstance(b, int) and a == b:
        return a
    return torch.where(condition, a, b)


def smooth_min(a: Tensor, b: Tensor, k: float) -> Tensor:
    """Polynomial smooth minimum with blend radius k (k = 0: the exact minimum)."""
    if k <= 0:
        return torch.minimum(a, b)
    h = (0.5 + 0.5 * (b - a) / k).clamp(0, 1)
    return torch.lerp(b, a, h) - k * h * (1 - h)


def union(a: Node, b: Node, k: float = 0.0) -> Node:
    """Smooth union; each point takes the label of the nearer operand."""
    return Node(smooth_min(a.sdf, b.sdf, k), _where(a.sdf <= b.sdf, a.label, b.label))


def union_all(nodes: list[Node], k: float = 0.0) -> Node:
    result = nodes[0]
    for node in nodes[1:]:
        result = union(result, node, k)
    return result


def subtract(a: Node, carve: Node, k: float = 0.0) -> Node:
    """`a` minus `carve` (smooth); the carve's label marks the surface it creates."""
    sdf = -smooth_min(-a.sdf, carve.sdf, k)
    return Node(sdf, _where(-carve.sdf > a.sdf, carve.label, a.label))


def intersect(a: Node, region: Tensor, k: float = 0.0) -> Node:
    """`a` restricted to the region with distance `region`; keeps `a`'s labels."""
    return Node(-smooth_min(-a.sdf, -region, k), a.label)


def paint(a: Node, inside: Tensor, label: int, over: tuple[int, ...]) -> Node:
    """Relabel points of `a` inside a region as `label`, where `a` is labelled one of `over`."""
    if a.label is None:
        return a
    covered = torch.zeros_like(inside)
    for old in over:
        covered = covered | (a.label == old)
    return Node(a.sdf, torch.where(inside & covered, label, a.label))


def length3(x: Tensor, y: Tensor, z: Tensor) -> Tensor:
    return torch.sqrt(x * x + y * y + z * z)


def sphere(x, y, z, cx, cy, cz, radius) -> Tensor:
    return length3(x - cx, y - cy, z - cz) - radius


def ellipsoid(x, y, z, cx, cy, cz, rx, ry, rz) -> Tensor:
    """Approximate distance to an axis-aligned ellipsoid (exact on the surface)."""
    qx, qy, qz = (x - cx) / rx, (y - cy) / ry, (z - cz) / rz
    k0 = length3(qx, qy, qz)
    k1 = length3(qx / rx, qy / ry, qz / rz)
    return k0 * (k0 - 1) / k1.clamp_min(1e-6)


def capsule(x, y, z, a, b, radius_a, radius_b=None) -> Tensor:
    """Distance to the segment a→b (3-tuples) with radius tapering from radius_a to radius_b."""
    bax, bay, baz = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    pax, pay, paz = x - a[0], y - a[1], z - a[2]
    h = ((pax * bax + pay * bay + paz * baz) / (bax * bax + bay * bay + baz * baz)).clamp(0, 1)
    radius = radius_a if radius_b is None else radius_a + (radius_b - radius_a) * h
    return length3(pax - bax * h, pay - bay * h, paz - baz * h) - radius


def rounded_box(x, y, z, cx, cy, cz, hx, hy, hz, radius) -> Tensor:
    """Box with half-sizes (hx, hy, hz) (including the rounding `radius`)."""
    qx = (x - cx).abs() - hx + radius
    qy = (y - cy).abs() - hy + radius
    qz = (z - cz).abs() - hz + radius
    outside = length3(qx.clamp_min(0), qy.clamp_min(0), qz.clamp_min(0))
    inside = torch.maximum(qx, torch.maximum(qy, qz)).clamp_max(0)
    return outside + inside - radius


def rounded_rect(u, v, hu, hv, radius) -> Tensor:
    """2D distance to a rounded rectangle centred at 0 with half-sizes (hu, hv)."""
    qu = u.abs() - hu + radius
    qv = v.abs() - hv + radius
    outside = torch.sqrt(qu.clamp_min(0) ** 2 + qv.clamp_min(0) ** 2)
    return outside + torch.maximum(qu, qv).clamp_max(0) - radius


def torus(x, y, z, major, minor) -> Tensor:
    """Torus around the local y axis, centred at the origin."""
    ring = torch.sqrt(x * x + z * z) - major
    return torch.sqrt(ring * ring + y * y) - minor


def rotate(u: Tensor, v: Tensor, angle) -> tuple[Tensor, Tensor]:
    """Rotate the (u, v) coordinate pair by `angle` (radians, tensor or float)."""
    cos, sin = _cos_sin(angle)
    return u * cos - v * sin, u * sin + v * cos


def _cos_sin(angle):
    if isinstance(angle, Tensor):
        return torch.cos(angle), torch.sin(angle)
    return math.cos(angle), math.sin(angle)
