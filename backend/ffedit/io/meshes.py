"""Mesh files of a face: binary PLY and glTF binary (GLB), written with trimesh.

Both carry per-vertex position, normal, colour (RGBA, alpha 255) and the vertex's class id
in the layout:

- PLY: a `class` vertex property (ushort), next to `red green blue alpha`;
- GLB: one primitive with `COLOR_0` and the application-specific attribute `_CLASS`
  (FLOAT, SCALAR, whole numbers): glTF readers keep attributes they do not know (three.js
  as `geometry.attributes._class`, trimesh as `vertex_attributes['_CLASS']`), so a standard
  viewer shows the coloured mesh and a script reads the classes; the mesh's `extras` name the
  layout and its classes (name and colour per id) and the frame.

Positions are in the generator's world units (the tri-plane box is [-0.5, 0.5]³, +y up, the
face toward +z: glTF's own axes), not metres: on synthface one unit is about 43 cm, and a
real checkpoint's scale is not known.

One primitive per class would have needed no custom attribute, but splits the mesh along
class borders (shared vertices duplicated, normals broken at the seams).
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import trimesh

from ffedit.layouts import Layout

MeshFormat = Literal["glb", "ply"]
MESH_FORMATS: tuple[str, ...] = get_args(MeshFormat)
MESH_MEDIA_TYPES = {"glb": "model/gltf-binary", "ply": "application/octet-stream"}
PLY_CLASS_PROPERTY = "class"
GLB_CLASS_ATTRIBUTE = "_CLASS"


def _trimesh(vertices, faces, normals, colors, extras: dict | None = None) -> trimesh.Trimesh:
    rgba = np.concatenate([colors, np.full((len(colors), 1), 255, np.uint8)], axis=1)
    return trimesh.Trimesh(
        vertices=vertices,
        faces=faces,
        vertex_normals=normals,
        vertex_colors=rgba,
        metadata=extras or {},
        process=False,
    )


FRAME = "generator world units: tri-plane box [-0.5, 0.5]^3, +y up, face toward +z"


def layout_extras(layout: Layout) -> dict:
    """What a GLB's mesh `extras` say about its classes and frame."""
    return {
        "frame": FRAME,
        "layout": layout.name,
        "classes": [
            {"id": i, "name": c.name, "color": list(c.color)} for i, c in enumerate(layout.classes)
        ],
    }


def ply_bytes(vertices, faces, normals, colors, labels) -> bytes:
    """Binary little-endian PLY of a mesh: vertices (V, 3), faces (F, 3), normals (V, 3),
    colors (V, 3) uint8 and labels (V,) class ids (the `class` vertex property)."""
    mesh = _trimesh(vertices, faces, normals, colors)
    mesh.vertex_attributes[PLY_CLASS_PROPERTY] = np.asarray(labels, dtype=np.uint16)
    return trimesh.exchange.ply.export_ply(mesh, encoding="binary", vertex_normal=True)


def glb_bytes(vertices, faces, normals, colors, labels, layout: Layout) -> bytes:
    """GLB of the same mesh: `COLOR_0`, `NORMAL` and `_CLASS` (float class ids)."""
    mesh = _trimesh(vertices, faces, normals, colors, layout_extras(layout))
    mesh.vertex_attributes[GLB_CLASS_ATTRIBUTE] = np.asarray(labels, dtype=np.float32)
    return trimesh.exchange.gltf.export_glb(mesh, include_normals=True)


def mesh_bytes(mesh, layout: Layout, file_format: str) -> bytes:
    """The file of a `FaceMesh`-like mesh (vertices, faces, normals, colors, labels) in
    `file_format` ('glb' or 'ply')."""
    parts = (mesh.vertices, mesh.faces, mesh.normals, mesh.colors, mesh.labels)
    if file_format == "glb":
        return glb_bytes(*parts, layout)
    if file_format == "ply":
        return ply_bytes(*parts)
    raise ValueError(f"unknown mesh format {file_format!r}; known: {', '.join(MESH_FORMATS)}")
