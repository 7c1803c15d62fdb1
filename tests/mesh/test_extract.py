"""Mesh extraction: marching cubes of the shipped model's density, the view crop, floaters,
orientation, and vertex colours and classes from the same decoders as rendering."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ffedit.adapter import GeometryAdapter
from ffedit.generator import ws_from_seed
from ffedit.io.checkpoint import load_generator
from ffedit.mesh import (
    MAX_GRID,
    MIN_GRID,
    EmptySurface,
    InvalidMeshRequest,
    MeshSettings,
    extract_mesh,
)
from ffedit.mesh.extract import (
    drop_small_components,
    seen_by_cameras,
    surface_from_grid,
    viewing_cameras,
)

GRID = 48
"""Small lattices keep these tests to about a second each."""


@pytest.fixture(scope="module")
def generator(shipped_model):
    return load_generator(shipped_model, torch.device("cpu"))


@pytest.fixture(scope="module")
def planes(generator):
    with torch.no_grad():
        return generator.synthesize_planes(ws_from_seed(generator, 3)[None])


@pytest.fixture(scope="module")
def mesh(generator, planes):
    return extract_mesh(generator, planes, MeshSettings(grid=GRID))


def _sphere_grid(grid: int, radius: float, centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    axis = np.linspace(-0.5, 0.5, grid)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    distance = np.sqrt((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2)
    return np.where(distance < radius, 100.0, 0.0).astype(np.float32)


def test_marching_cubes_puts_a_sphere_where_it_is_in_world_units():
    vertices, faces = surface_from_grid(_sphere_grid(64, 0.3, (0.1, 0.0, 0.0)), 50.0, 1.0)
    radii = np.linalg.norm(vertices - [0.1, 0.0, 0.0], axis=1)
    assert abs(radii.mean() - 0.3) < 1 / 63  # within a cell
    assert faces.max() < len(vertices)


def test_a_density_that_never_crosses_the_level_has_no_surface():
    with pytest.raises(EmptySurface, match="never crosses the level 50"):
        surface_from_grid(np.zeros((8, 8, 8), np.float32), 50.0, 1.0)


def test_small_components_are_dropped_and_large_ones_kept():
    big = _sphere_grid(64, 0.3)
    speck = _sphere_grid(64, 0.03, (0.4, 0.4, 0.4))
    vertices, faces = surface_from_grid(np.maximum(big, speck), 50.0, 1.0)
    kept = drop_small_components(faces, len(vertices), 0.05)
    assert 0 < len(faces) - len(kept) < 0.05 * len(faces)
    assert np.linalg.norm(vertices[kept].reshape(-1, 3), axis=1).max() < 0.32


def test_the_space_the_app_views_is_the_head_not_the_box_corners():
    points = torch.tensor([[0.0, 0.0, 0.0], [0.45, 0.45, -0.45], [0.0, 0.48, 0.0]])
    seen = seen_by_cameras(points, viewing_cameras(), 2.25, 3.3)
    assert seen.tolist() == [True, False, False]


@pytest.mark.parametrize("grid", [MIN_GRID - 1, MAX_GRID + 1])
def test_grid_sizes_out_of_range_are_refused(grid):
    with pytest.raises(InvalidMeshRequest, match=f"from {MIN_GRID} to {MAX_GRID}"):
        MeshSettings(grid=grid)


def test_a_face_mesh_has_coloured_labelled_outward_vertices(mesh):
    assert len(mesh.vertices) > 1000 and len(mesh.faces) > 1000
    assert mesh.vertices.dtype == np.float32 and mesh.colors.dtype == np.uint8
    assert len(mesh.normals) == len(mesh.colors) == len(mesh.labels) == len(mesh.vertices)
    assert np.abs(mesh.vertices).max() <= 0.5
    assert np.allclose(np.linalg.norm(mesh.normals, axis=1), 1, atol=1e-3)
    # outward: normals point away from the head's centre on the whole
    centre = mesh.vertices.mean(axis=0)
    assert (np.einsum("vk,vk->v", mesh.vertices - centre, mesh.normals) > 0).mean() > 0.7
    # triangles wound counter-clockwise around their vertices' normals
    a, b, c = (mesh.vertices[mesh.faces[:, i]] for i in range(3))
    winding = np.einsum("fk,fk->f", np.cross(b - a, c - a), mesh.normals[mesh.faces].sum(1))
    assert (winding > 0).mean() > 0.9
    # the face's classes, no background, and skin-like colours on skin
    classes = set(np.unique(mesh.labels).tolist())
    assert 0 not in classes and {1, 13}.issubset(classes)  # skin and hair
    assert mesh.colors[mesh.labels == 1].mean() > 60


def test_vertex_classes_follow_the_seg_head(generator, planes, mesh):
    layout_classes = 4
    adapter = GeometryAdapter.for_generator(generator.config, layout_classes, hidden=8)
    with torch.no_grad():
        adapter[2].bias.copy_(torch.tensor([0.0, 0.0, 50.0, 0.0]))  # class 2 everywhere
    labelled = extract_mesh(generator, planes, MeshSettings(grid=GRID), seg_head=adapter)
    assert set(np.unique(labelled.labels).tolist()) == {2}
    # no vertex is background now, so none of the base mesh's surface is dropped
    base_vertices = {tuple(v) for v in mesh.vertices.tolist()}
    assert base_vertices <= {tuple(v) for v in labelled.vertices.tolist()}


def test_an_edited_faces_appearance_lock_changes_colours_not_the_surface(generator, planes, mesh):
    other = generator.synthesize_planes(ws_from_seed(generator, 8)[None])
    stats = generator.split_planes(other).statistics
    locked = extract_mesh(generator, planes, MeshSettings(grid=GRID), plane_stats=stats)
    assert np.array_equal(locked.vertices, mesh.vertices)
    assert np.abs(locked.colors.astype(int) - mesh.colors).mean() > 5


def test_between_passes_is_called_after_every_pass_and_changes_nothing(generator, planes, mesh):
    calls = []
    again = extract_mesh(
        generator, planes, MeshSettings(grid=GRID), between_passes=lambda: calls.append(1)
    )
    assert len(calls) >= 2  # the density grid's passes and the vertices'
    assert np.array_equal(again.vertices, mesh.vertices)
    assert np.array_equal(again.labels, mesh.labels)
