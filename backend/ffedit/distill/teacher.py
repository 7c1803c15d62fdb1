"""Teacher data from synthface: renders and labelled 3D points for (shape, appearance) pairs.

An entry is a face pair: the shape of face A (its shape seed) with the appearance of face B.
Half of the pairs are unmixed (A = B). For every entry the teacher renders a few views at
random cameras (RGB, `base15` labels, depth) and labels 3D points near the surface and
uniformly in the box (density, `base15` label, colour). Only `base15` labels are produced:
the finer classes are never shown to the generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ffedit.camera import cameras_from_angles, pack_cameras, unpack_cameras
from ffedit.layouts import BASE_LAYOUT, get_layout, labels_from_fine
from ffedit.render import rays_from_cameras
from ffedit.synthface import face_from_latent, latent_from_seed, render_face, sample_points

TRAINING_SEED_START = 1_000_000
"""Training faces use seeds from here on; seeds below are held out for benchmarks."""


@dataclass(frozen=True)
class TeacherSettings:
    """How much supervision one entry gets."""

    views: int = 2
    """Rendered views per entry, at random cameras."""
    resolution: int = 64
    """Side of the teacher renders (rays are rays: any resolution supervises the generator)."""
    surface_points: int = 3072
    """Points near the rendered surface (jittered along and across the ray)."""
    box_points: int = 1024
    """Points uniform in the tri-plane box."""
    surface_jitter: float = 0.01
    """Std of the jitter of surface points (world units)."""
    yaw_std: float = 0.3
    """Std of the camera yaw around the front view (radians); clipped at ±yaw_limit."""
    yaw_limit: float = 0.7
    pitch_std: float = 0.12
    """Std of the camera pitch around the horizon (radians); clipped at ±pitch_limit."""
    pitch_limit: float = 0.35
    zoom_out_max: float = 1.0
    """Each view's focal length is divided by a factor drawn uniformly from [1, zoom_out_max]:
    a wider view puts the edges of the benchmark frame (hair top, chest), which the standard
    frame sees only in its outer rows, inside the picture. 1: the FFHQ field of view. Tried
    once, at 1.2 with channel_min 64 (v8x in the model card): the depth of those rows got
    worse, not better."""
    mix_probability: float = 0.5
    """Share of entries whose appearance comes from another face."""

    def __post_init__(self) -> None:
        if self.zoom_out_max < 1.0:
            raise ValueError(f"zoom_out_max must be at least 1 (no zoom); got {self.zoom_out_max}")


def entry_seeds(index: int, mix_probability: float) -> tuple[int, int]:
    """(shape seed, appearance seed) of training entry `index`, from the training range."""
    rng = torch.Generator().manual_seed(TRAINING_SEED_START + index)
    shape_seed = TRAINING_SEED_START + index
    mixed = torch.rand((), generator=rng).item() < mix_probability
    other = TRAINING_SEED_START + int(torch.randint(0, 10**8, (), generator=rng))
    return shape_seed, other if mixed else shape_seed


def random_cameras(count: int, settings: TeacherSettings, rng: torch.Generator) -> torch.Tensor:
    """(count, 25) cameras with yaw and pitch drawn around the front view, each zoomed out
    by a factor in [1, zoom_out_max]."""
    yaw = (torch.randn(count, generator=rng) * settings.yaw_std).clamp(
        -settings.yaw_limit, settings.yaw_limit
    )
    pitch = (torch.randn(count, generator=rng) * settings.pitch_std).clamp(
        -settings.pitch_limit, settings.pitch_limit
    )
    cameras = cameras_from_angles(math.pi / 2 + yaw, math.pi / 2 + pitch)
    if settings.zoom_out_max == 1.0:
        return cameras  # the same random stream as before the option existed
    zoom = 1 + (settings.zoom_out_max - 1) * torch.rand(count, generator=rng)
    cam2world, intrinsics = unpack_cameras(cameras)
    intrinsics = intrinsics.clone()
    intrinsics[:, :2, :2] /= zoom[:, None, None]
    return pack_cameras(cam2world, intrinsics)


def teacher_entry(
    shape_seed: int, appearance_seed: int, settings: TeacherSettings, rng: torch.Generator
) -> dict[str, torch.Tensor]:
    """Supervision for one entry (tensors on the CPU):

    z_shape, z_appearance (512,); cameras (V, 25); rgb (V, 3, H, W) in [−1, 1];
    labels (V, H, W) base15 ids; depth (V, 1, H, W); points (P, 3); density (P,);
    point_labels (P,) base15 ids; point_rgb (P, 3) in [−1, 1].
    """
    z_shape, z_appearance = latent_from_seed(shape_seed), latent_from_seed(appearance_seed)
    face = face_from_latent(z_shape[None]).with_appearance_of(face_from_latent(z_appearance[None]))
    cameras = random_cameras(settings.views, settings, rng)
    views = render_face(face, cameras, settings.resolution)
    base = get_layout(BASE_LAYOUT)
    labels = labels_from_fine(views.fine_labels, base)
    points = torch.cat(
        [
            _surface_points(cameras, views.depth, labels, settings, rng),
            torch.rand(settings.box_points, 3, generator=rng) - 0.5,
        ]
    )
    with torch.inference_mode():
        samples = sample_points(face, points[None])
    return {
        "z_shape": z_shape,
        "z_appearance": z_appearance,
        "cameras": cameras,
        "rgb": views.rgb.float(),
        "labels": labels.to(torch.uint8),
        "depth": views.depth.float(),
        "points": points,
        "density": samples.density[0].float(),
        "point_labels": labels_from_fine(samples.fine_label[0], base).to(torch.uint8),
        "point_rgb": samples.rgb[0].float() * 2 - 1,
    }


def _surface_points(cameras, depth, labels, settings: TeacherSettings, rng) -> torch.Tensor:
    """Points on the rendered foreground surface of the views, jittered in 3D."""
    origins, directions = rays_from_cameras(*unpack_cameras(cameras), settings.resolution)
    hits = origins + directions * depth.flatten(1).unsqueeze(-1)  # (V, R, 3)
    foreground = (labels.flatten(1) > 0).reshape(-1)
    candidates = hits.reshape(-1, 3)[foreground]
    if len(candidates) == 0:
        candidates = torch.zeros(1, 3)
    pick = torch.randint(0, len(candidates), (settings.surface_points,), generator=rng)
    jitter = torch.randn(settings.surface_points, 3, generator=rng) * settings.surface_jitter
    return (candidates[pick] + jitter).clamp(-0.5, 0.5)


def teacher_shard(
    first_entry: int, count: int, settings: TeacherSettings
) -> dict[str, torch.Tensor]:
    """Entries first_entry … first_entry+count−1 stacked along a new leading dimension."""
    entries = []
    for index in range(first_entry, first_entry + count):
        rng = torch.Generator().manual_seed(index)
        shape_seed, appearance_seed = entry_seeds(index, settings.mix_probability)
        entries.append(teacher_entry(shape_seed, appearance_seed, settings, rng))
    return {key: torch.stack([entry[key] for entry in entries]) for key in entries[0]}
