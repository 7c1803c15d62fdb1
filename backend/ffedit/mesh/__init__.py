"""Meshes of faces: the generator's density surface by marching cubes, each vertex with its
colour and its class in a layout (`extract_mesh`, `MeshSettings`, `FaceMesh`).

Files (PLY, GLB) are written by `ffedit.io.meshes`; `ffedit bench mesh` measures the
surfaces against synthface's exact ones.
"""

from ffedit.mesh.extract import (
    DEFAULT_GRID,
    MAX_GRID,
    MIN_GRID,
    EmptySurface,
    FaceMesh,
    InvalidMeshRequest,
    MeshSettings,
    extract_mesh,
)

__all__ = [
    "DEFAULT_GRID",
    "MAX_GRID",
    "MIN_GRID",
    "EmptySurface",
    "FaceMesh",
    "InvalidMeshRequest",
    "MeshSettings",
    "extract_mesh",
]
