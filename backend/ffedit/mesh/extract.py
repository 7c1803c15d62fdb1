"""A face's surface as a triangle mesh: marching cubes on the generator's density.

The activated density σ = softplus(σ_raw + density_shift) (what the ray marcher composites)
is evaluated on a grid³ lattice spanning the tri-plane box, a chunk of points at a time so
memory stays bounded at any grid size; PyMCubes extracts the σ = `density_level`
isosurface. Only the space the app's views render is kept (`viewing_cameras`: inside the
image and the ray range of a named view or an orbit frame): the generator's density beyond
it was never rendered, so never learned, and holds blobs (above the head, behind the
torso); triangles reaching out of it are dropped, leaving the mesh open there as at the box
edge. Each vertex then gets, from the same decoders at its position:

- its normal: −∇σ, normalised (σ grows inward), which also orients the triangles (where
  ∇σ vanishes, the mesh's own area-weighted normal);
- its colour: the appearance decoder's first three features (raw RGB in [0, 1]) with the
  face's appearance statistics, exactly what volume rendering composites there: the
  decoders are view-independent, and at a crisp surface the composited colour is the
  colour at the surface;
- its class: the argmax of the seg head's logits (the geometry decoder's `base15` logits,
  or a layout's adapter), the adapter seeing the vertex along −normal, as a camera looking
  at that spot head-on does.

Triangles touching a background vertex go (matter the seg head calls background is the
generator's stand-in for the black backdrop, not the face), then components smaller than
`min_component_share` of the triangles (floaters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import mcubes
import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ffedit.camera import NAMED_VIEWS, named_camera, orbit_cameras, unpack_cameras
from ffedit.generator import SegHead, TriplaneGenerator
from ffedit.generator.planes import PlaneStatistics, SplitPlanes
from ffedit.render import project_points, sample_triplane_features

MIN_GRID = 32
MAX_GRID = 256
DEFAULT_GRID = 128
POINTS_PER_PASS = 1 << 16
"""Points decoded per pass (a few MB of activations)."""
BACKGROUND = 0
"""Class id of the background in every layout."""
VIEWING_ORBIT_FRAMES = 24
"""Cameras of the app's orbit that, with the named views, bound the space a mesh keeps."""


class InvalidMeshRequest(ValueError):
    """A mesh setting out of range (grid size, level)."""


class EmptySurface(ValueError):
    """The density never reaches the level inside the box: there is no surface to export."""


@dataclass(frozen=True)
class MeshSettings:
    """How a face's surface is extracted."""

    grid: int = DEFAULT_GRID
    """Lattice points per side of the tri-plane box (MIN_GRID … MAX_GRID)."""
    density_level: float = 50.0
    """Activated density σ (1/world unit) of the isosurface: 33 % opacity over one cell of
    the 128³ grid. On dev faces 1000–1001 (`ffedit bench mesh --density-level`), σ = 20, 50
    and 150 put the mesh 0.018, 0.016 and 0.018 world units from the exact surface."""
    min_component_share: float = 0.002
    """Connected components with fewer triangles than this share of all are floaters."""

    def __post_init__(self) -> None:
        if not MIN_GRID <= self.grid <= MAX_GRID:
            raise InvalidMeshRequest(
                f"grid must be from {MIN_GRID} to {MAX_GRID} points a side, not {self.grid}"
            )
        if not self.density_level > 0:
            raise InvalidMeshRequest(f"density_level must be > 0, not {self.density_level}")


class FaceMesh(NamedTuple):
    """A coloured, labelled triangle mesh in world units (the generator's frame)."""

    vertices: np.ndarray
    """(V, 3) float32 positions."""
    faces: np.ndarray
    """(F, 3) int64 vertex indices, counter-clockwise seen from outside."""
    normals: np.ndarray
    """(V, 3) float32 unit outward normals."""
    colors: np.ndarray
    """(V, 3) uint8 RGB."""
    labels: np.ndarray
    """(V,) int64 class ids of the layout."""


def lattice_coordinates(grid: int, box_warp: float) -> np.ndarray:
    """(grid,) coordinates from −box_warp/2 to box_warp/2 along each axis."""
    return np.linspace(-box_warp / 2, box_warp / 2, grid, dtype=np.float64)


def _nothing() -> None:
    return None


def density_grid(
    generator: TriplaneGenerator,
    split: SplitPlanes,
    grid: int,
    points_per_pass: int = POINTS_PER_PASS,
    between_passes: Callable[[], None] = _nothing,
) -> np.ndarray:
    """(grid, grid, grid) float32 activated density σ at the lattice (axes x, y, z) of one
    face's split planes (batch 1), decoded `points_per_pass` points at a time
    (`between_passes` called after each)."""
    axis = torch.from_numpy(lattice_coordinates(grid, generator.config.render.box_warp))
    axis = axis.to(device=generator.device, dtype=torch.float32)
    slab = max(1, points_per_pass // (grid * grid))
    values = []
    with torch.no_grad():
        for start in range(0, grid, slab):
            x, y, z = torch.meshgrid(axis[start : start + slab], axis, axis, indexing="ij")
            points = torch.stack([x, y, z], dim=-1).reshape(1, -1, 3)
            sigma = activated_density(generator, split, points)
            values.append(sigma.reshape(-1, grid, grid).cpu())
            between_passes()
    return torch.cat(values).numpy().astype(np.float32)


def surface_from_grid(
    sigma: np.ndarray, level: float, box_warp: float
) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of σ (G, G, G) at `level`: world vertices (V, 3) float64 and
    triangles (F, 3) int64 (`EmptySurface` when there are none)."""
    if not sigma.min() < level < sigma.max():
        raise EmptySurface(
            f"the density ranges {sigma.min():.3g}…{sigma.max():.3g} in the box and never "
            f"crosses the level {level:g}: there is no surface to export"
        )
    # PyMCubes pads nothing: a surface touching the box edge stays open there
    vertices, triangles = mcubes.marching_cubes(sigma.astype(np.float64), level)
    step = box_warp / (sigma.shape[0] - 1)
    return vertices * step - box_warp / 2, triangles.astype(np.int64)


def viewing_cameras() -> torch.Tensor:
    """(V, 25) the cameras the app renders a face from: the named views and its orbit."""
    named = torch.stack([named_camera(name) for name in NAMED_VIEWS])
    return torch.cat([named, orbit_cameras(VIEWING_ORBIT_FRAMES)])


def seen_by_cameras(
    points: torch.Tensor, cameras: torch.Tensor, ray_start: float, ray_end: float
) -> torch.Tensor:
    """(N,) bool: the point (N, 3) lies inside the image and the ray range [ray_start,
    ray_end] of at least one camera (V, 25), i.e. where rendering ever samples the field."""
    cam2world, intrinsics = unpack_cameras(cameras.to(points))
    seen = torch.zeros(len(points), dtype=torch.bool, device=points.device)
    for pose, camera_intrinsics in zip(cam2world, intrinsics, strict=True):
        pixels, in_front = project_points(points, pose, camera_intrinsics, 1)
        distance = (points - pose[:3, 3]).norm(dim=-1)
        in_image = ((pixels >= -0.5) & (pixels <= 0.5)).all(dim=-1)
        seen |= in_front & in_image & (distance >= ray_start) & (distance <= ray_end)
    return seen


def keep_triangles(faces: np.ndarray, vertex_kept: np.ndarray) -> np.ndarray:
    """The triangles (F, 3) whose three vertices are all kept (vertex_kept (V,) bool)."""
    return faces[vertex_kept[faces].all(axis=1)]


def component_labels(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """(F,) id of the connected component (through shared vertices) of each triangle."""
    rows = np.repeat(faces[:, 0], 2)
    cols = faces[:, 1:].reshape(-1)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), (num_vertices,) * 2)
    _, vertex_component = connected_components(graph, directed=False)
    return vertex_component[faces[:, 0]]


def drop_small_components(faces: np.ndarray, num_vertices: int, min_share: float) -> np.ndarray:
    """The triangles (F, 3) without components of fewer than `min_share` of them (floaters)."""
    if len(faces) == 0:
        return faces
    component = component_labels(faces, num_vertices)
    sizes = np.bincount(component)
    return faces[sizes[component] >= max(1.0, min_share * len(faces))]


def compact(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mesh without the vertices no triangle uses, triangles re-indexed."""
    used = np.unique(faces)
    remap = np.full(len(vertices), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return vertices[used], remap[faces]


class VertexAttributes(NamedTuple):
    normals: torch.Tensor
    """(1, V, 3) unit outward normals (−∇σ)."""
    rgb: torch.Tensor
    """(1, V, 3) raw RGB in [0, 1]."""
    labels: torch.Tensor
    """(1, V) int64 class ids."""


def activated_density(
    generator: TriplaneGenerator, split: SplitPlanes, points: torch.Tensor
) -> torch.Tensor:
    """σ = softplus(σ_raw + density_shift) (B, N) at points (B, N, 3), as the marcher
    activates it."""
    features = sample_triplane_features(split.normalized, points, generator.config.render.box_warp)
    raw = generator.decoder.geometry(features)[..., 0]
    return F.softplus(raw + generator.config.render.density_shift)


def outward_normals(
    generator: TriplaneGenerator, split: SplitPlanes, points: torch.Tensor
) -> torch.Tensor:
    """(B, N, 3) unit −∇σ at points (B, N, 3): σ grows into the head."""
    points = points.detach().requires_grad_(True)
    with torch.enable_grad():
        (gradient,) = torch.autograd.grad(activated_density(generator, split, points).sum(), points)
    return -F.normalize(gradient, dim=-1)


def vertex_attributes(
    generator: TriplaneGenerator,
    split: SplitPlanes,
    vertices: torch.Tensor,
    seg_head: SegHead | None,
    points_per_pass: int = POINTS_PER_PASS,
    between_passes: Callable[[], None] = _nothing,
) -> VertexAttributes:
    """Normals, colours and classes of vertices (1, V, 3) from one face's split planes,
    decoded by `TriplaneGenerator.sample_points` (the seg head looking along −normal),
    `points_per_pass` at a time (`between_passes` called after each)."""
    parts = []
    for points in vertices.split(points_per_pass, dim=1):
        normals = outward_normals(generator, split, points)
        with torch.no_grad():
            samples = generator.sample_points(split, points, -normals, seg_head=seg_head)
        rgb = samples.features[..., :3].clamp(0, 1)
        parts.append((normals, rgb, samples.seg_logits.argmax(-1)))
        between_passes()
    normals, rgb, labels = (torch.cat(tensors, dim=1) for tensors in zip(*parts, strict=True))
    return VertexAttributes(normals, rgb, labels)


def orient_faces(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """The triangles wound counter-clockwise around the outward vertex `normals` (marching
    cubes winds all of them one way: flip all when most disagree)."""
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    geometric = np.cross(b - a, c - a)
    agreement = np.einsum("fk,fk->f", geometric, normals[faces].sum(axis=1))
    return faces[:, ::-1].copy() if (agreement < 0).sum() > len(faces) / 2 else faces


def area_weighted_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit vertex normals: the sum of the adjacent triangles' area normals."""
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    sums = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(sums, faces[:, corner], np.cross(b - a, c - a))
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)


def extract_mesh(
    generator: TriplaneGenerator,
    planes: torch.Tensor,
    settings: MeshSettings,
    seg_head: SegHead | None = None,
    plane_stats: PlaneStatistics | None = None,
    between_passes: Callable[[], None] = _nothing,
) -> FaceMesh:
    """The coloured, labelled surface of one face's raw planes (1, 3, C, T, T); plane_stats
    (mean, std (1, 3·C)) is an edited face's appearance lock (None: its own).
    `between_passes` is called after each pass of decoding (the app lets waiting renders
    use the device there)."""
    split = generator.split_planes(planes, None if plane_stats is None else tuple(plane_stats))
    box_warp = generator.config.render.box_warp
    sigma = density_grid(generator, split, settings.grid, between_passes=between_passes)
    vertices, faces = surface_from_grid(sigma, settings.density_level, box_warp)
    render = generator.config.render
    points = torch.from_numpy(vertices).to(device=generator.device, dtype=torch.float32)
    seen = seen_by_cameras(points, viewing_cameras(), render.ray_start, render.ray_end)
    faces = keep_triangles(faces, seen.cpu().numpy())
    vertices, faces = compact(vertices, faces)
    attributes = vertex_attributes(
        generator,
        split,
        torch.from_numpy(vertices).to(points)[None],
        seg_head,
        between_passes=between_passes,
    )
    labels = attributes.labels[0].cpu().numpy().astype(np.int64)
    faces = keep_triangles(faces, labels != BACKGROUND)
    faces = drop_small_components(faces, len(vertices), settings.min_component_share)
    if len(faces) == 0:
        raise EmptySurface("no surface of the face lies where the app's views see it")
    used = np.unique(faces)
    vertices, faces = compact(vertices, faces)
    normals = attributes.normals[0].cpu().numpy()[used]
    faces = orient_faces(vertices, faces, normals)
    flat = np.linalg.norm(normals, axis=1) < 0.999  # |∇σ| below F.normalize's 1e-12
    normals[flat] = area_weighted_normals(vertices, faces)[flat]
    return FaceMesh(
        vertices=vertices.astype(np.float32),
        faces=faces,
        normals=normals.astype(np.float32),
        colors=np.round(attributes.rgb[0].cpu().numpy()[used] * 255).astype(np.uint8),
        labels=labels[used],
    )
