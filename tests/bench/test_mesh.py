"""`ffedit bench mesh`: the exact surface's samples lie on synthface's zero level with its
labels, and the figures measure a known offset, label share and colour error exactly."""

from __future__ import annotations

import numpy as np
import torch

from ffedit.bench.mesh import ExactSurface, exact_surface, mesh_figures, sample_triangles
from ffedit.mesh import FaceMesh
from ffedit.mesh.extract import surface_from_grid
from ffedit.synthface import face_from_latent, latent_from_seed
from ffedit.synthface.geometry import face_geometry


def test_exact_surface_samples_lie_on_the_zero_level_with_the_faces_labels():
    face = face_from_latent(latent_from_seed(0)[None])
    exact = exact_surface(face, 64, 3000, np.random.default_rng(0))
    points = torch.from_numpy(exact.points).float()[None]
    distance = face_geometry(face, points, with_labels=False).opaque.sdf[0].abs()
    assert float(distance.quantile(0.99)) < 2e-3
    assert {1, 13} <= set(exact.labels.tolist())  # skin and hair
    assert 0 not in exact.labels  # a surface point is never background


def _sphere(radius: float, grid: int = 64) -> tuple[np.ndarray, np.ndarray]:
    axis = np.linspace(-0.5, 0.5, grid)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    inside = np.sqrt(x**2 + y**2 + z**2) < radius
    return surface_from_grid(np.where(inside, 100.0, 0.0).astype(np.float32), 50.0, 1.0)


def test_the_figures_measure_a_known_offset_label_share_and_colour_error():
    rng = np.random.default_rng(0)
    points = sample_triangles(*_sphere(0.3), 20_000, rng)
    points *= 0.3 / np.linalg.norm(points, axis=1, keepdims=True)  # exactly on the sphere
    exact = ExactSurface(points, np.ones(len(points), np.int64), np.full((len(points), 3), 100.0))
    vertices, faces = _sphere(0.35)
    vertices *= 0.35 / np.linalg.norm(vertices, axis=1, keepdims=True)
    labels = np.where(vertices[:, 0] > 0, 1, 2)  # half of the vertices wrong
    mesh = FaceMesh(
        vertices.astype(np.float32),
        faces,
        vertices.astype(np.float32),
        np.full((len(vertices), 3), 110, np.uint8),
        labels,
    )
    in_view = points[:, 0] > 0
    figures = mesh_figures(7, mesh, exact, in_view, 20_000, 1.5, rng)
    assert abs(figures.mesh_to_exact_mean - 0.05) < 0.003
    assert abs(figures.exact_to_mesh_mean - 0.05) < 0.003
    assert abs(figures.exact_in_view_to_mesh_mean - 0.05) < 0.003
    assert abs(figures.label_accuracy - 0.5) < 0.05
    assert figures.near_share == 0.0 and np.isnan(figures.near_label_accuracy)
    assert figures.color_mae == 10.0
