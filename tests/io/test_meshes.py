"""GLB and PLY files of a mesh open in trimesh with positions, normals, colours and classes."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
import trimesh

from ffedit.io.meshes import glb_bytes, mesh_bytes, ply_bytes
from ffedit.layouts import get_layout
from ffedit.mesh import FaceMesh


@pytest.fixture
def mesh() -> FaceMesh:
    box = trimesh.creation.box()
    count = len(box.vertices)
    return FaceMesh(
        vertices=box.vertices.astype(np.float32),
        faces=box.faces.astype(np.int64),
        normals=box.vertex_normals.astype(np.float32),
        colors=(np.arange(count * 3).reshape(count, 3) * 7 % 256).astype(np.uint8),
        labels=np.arange(count) % 15,
    )


def test_glb_opens_in_trimesh_with_colours_and_classes(mesh):
    scene = trimesh.load(io.BytesIO(mesh_bytes(mesh, get_layout("base15"), "glb")), "glb")
    (loaded,) = scene.geometry.values()
    assert np.allclose(loaded.vertices, mesh.vertices)
    assert np.array_equal(loaded.faces, mesh.faces)
    assert np.array_equal(loaded.visual.vertex_colors[:, :3], mesh.colors)
    assert np.array_equal(loaded.vertex_attributes["_CLASS"].reshape(-1), mesh.labels)
    assert loaded.metadata["layout"] == "base15"
    assert loaded.metadata["classes"][13] == {"id": 13, "name": "hair", "color": [212, 127, 255]}


def test_glb_declares_the_standard_attributes_a_viewer_reads(mesh):
    data = glb_bytes(*mesh[:4], mesh.labels, get_layout("base15"))
    assert data[:4] == b"glTF"
    length, kind = struct.unpack_from("<I4s", data, 12)
    document = json.loads(data[20 : 20 + length])
    assert kind == b"JSON"
    (primitive,) = document["meshes"][0]["primitives"]
    assert {"POSITION", "NORMAL", "COLOR_0", "_CLASS"} <= set(primitive["attributes"])
    assert document["accessors"][primitive["attributes"]["_CLASS"]]["type"] == "SCALAR"


def test_ply_opens_in_trimesh_with_colours_and_the_class_property(mesh):
    loaded = trimesh.load(io.BytesIO(ply_bytes(*mesh)), "ply")
    assert np.allclose(loaded.vertices, mesh.vertices)
    assert np.array_equal(loaded.visual.vertex_colors[:, :3], mesh.colors)
    vertex = loaded.metadata["_ply_raw"]["vertex"]["data"]
    assert np.array_equal(vertex["class"].reshape(-1), mesh.labels)
    assert np.allclose(
        np.stack([vertex[k].reshape(-1) for k in ("nx", "ny", "nz")], 1), mesh.normals
    )


def test_an_unknown_format_is_refused(mesh):
    with pytest.raises(ValueError, match="unknown mesh format 'obj'; known: glb, ply"):
        mesh_bytes(mesh, get_layout("base15"), "obj")
