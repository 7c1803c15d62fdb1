"""Point queries of the synthface world: density, colour and fine label at any 3D point.

- density σ (1/world unit) = SIGMA_MAX · sigmoid(−(sdf + SURFACE_INSET) / SURFACE_WIDTH): a
  logistic CDF of the negated distance, ~0 outside, SIGMA_MAX inside, with a transition
  about 8·SURFACE_WIDTH wide just inside the zero level, so volume rendering gives crisp
  surfaces; the glasses' lenses add LENS_SIGMA (about 60 % opacity when looked through).
- colour in [0, 1]: the albedo of the point's fine label (from the appearance parameters)
  times a fixed, view-independent shading: ambient + (1 − ambient)·max(0, n·l), with n·l
  estimated as the change of the distance along the light direction.
- fine label: the label of the nearest part (glasses where a lens is nearer).

`raw_density` turns σ into the raw value the project's compositing activates with
softplus (density shift 0), so renders go through `ffedit.render.composite` unchanged.
"""

from __future__ import annotations

import colorsys
from typing import NamedTuple

import torch

from ffedit.layouts import FINE_LABEL_IDS as ID
from ffedit.layouts import FINE_LABELS
from ffedit.synthface.geometry import face_geometry
from ffedit.synthface.params import Face

Tensor = torch.Tensor
SIGMA_MAX = 2000.0
"""Density deep inside a surface (1/world unit)."""
SURFACE_WIDTH = 0.0005
"""Logistic scale of the density transition (world units)."""
SURFACE_INSET = 0.00125
"""The transition is centred this far inside the zero level set, so that rays grazing a
surface from outside gather almost no density (no halo around silhouettes)."""
LENS_SIGMA = 380.0
"""Density inside a lens (2.4e-3 thick: ~60 % opacity head-on)."""
LENS_TINT = (0.62, 0.68, 0.72)
"""Colour of the glasses' lenses (the frames take the `glasses` albedo)."""
SHADING_STEP = 0.006
"""Offset along the light direction used to estimate n·l (world units)."""


class PointSamples(NamedTuple):
    density: Tensor
    """(B, N) σ ≥ 0 in 1/world units."""
    rgb: Tensor
    """(B, N, 3) colour in [0, 1]."""
    fine_label: Tensor
    """(B, N) int64 fine label ids (`ffedit.layouts.FINE_LABELS`)."""


def density_from_sdf(sdf: Tensor, sigma_max: float = SIGMA_MAX) -> Tensor:
    """σ = sigma_max · sigmoid(−(sdf + SURFACE_INSET) / SURFACE_WIDTH)."""
    return sigma_max * torch.sigmoid(-(sdf + SURFACE_INSET) / SURFACE_WIDTH)


def raw_density(density: Tensor) -> Tensor:
    """The raw value r with softplus(r) = σ (inverse softplus; σ floored at 1e-30)."""
    density = density.clamp_min(1e-30)
    return torch.where(density > 20, density, torch.log(torch.expm1(density.clamp_max(20))))


def _appearance(face: Face, name: str) -> Tensor:
    return face.parameter(name)[:, None]


def _mix(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    return a + (b - a) * t


def _rgb(values: tuple[float, float, float], batch: int) -> Tensor:
    return torch.tensor(values, dtype=torch.float32).expand(batch, 3)


def _ramp(t: Tensor, stops: list[tuple[float, float, float]]) -> Tensor:
    """Piecewise-linear colour ramp through equally spaced `stops`, t (B, 1) in [0, 1]."""
    table = torch.tensor(stops, dtype=torch.float32, device=t.device)
    position = t.clamp(0, 1) * (len(stops) - 1)
    index = position.floor().long().clamp_max(len(stops) - 2)
    fraction = position - index
    return _mix(table[index[:, 0]], table[index[:, 0] + 1], fraction)


def _hsv(hue: Tensor, saturation: Tensor, value: Tensor) -> Tensor:
    rows = [
        colorsys.hsv_to_rgb(float(h), float(s), float(v))
        for h, s, v in zip(hue[:, 0], saturation[:, 0], value[:, 0], strict=True)
    ]
    return torch.tensor(rows, dtype=torch.float32, device=hue.device)


def albedo_table(face: Face) -> Tensor:
    """(B, number of fine labels, 3) albedo in [0, 1] of every fine label of every face."""
    batch, device = len(face), face.appearance.device
    tone = _appearance(face, "skin_tone")
    warmth = _appearance(face, "skin_warmth")
    skin = _ramp(
        tone, [(0.97, 0.82, 0.72), (0.84, 0.64, 0.52), (0.6, 0.42, 0.3), (0.34, 0.21, 0.14)]
    )
    skin = skin + (warmth - 0.5) * torch.tensor([-0.02, 0.03, -0.04], device=device)
    hair = _ramp(
        _appearance(face, "hair_tone"),
        [
            (0.05, 0.045, 0.04),
            (0.16, 0.1, 0.06),
            (0.34, 0.21, 0.12),
            (0.62, 0.47, 0.3),
            (0.88, 0.76, 0.52),
        ],
    )
    hair = _mix(
        hair,
        torch.tensor([0.55, 0.2, 0.08], device=device),
        0.5 * _appearance(face, "hair_red") ** 2,
    )
    brow = hair * (1 - 0.55 * _appearance(face, "brow_darkness")) * 0.85
    iris = _ramp(
        _appearance(face, "iris_tone"),
        [(0.25, 0.14, 0.07), (0.4, 0.26, 0.12), (0.38, 0.45, 0.25), (0.32, 0.48, 0.66)],
    )
    lips = _mix(
        skin,
        torch.tensor([0.72, 0.26, 0.28], device=device),
        0.3 + 0.35 * _appearance(face, "lip_tint"),
    )
    cloth = _hsv(
        _appearance(face, "cloth_hue"),
        _appearance(face, "cloth_saturation"),
        _appearance(face, "cloth_value"),
    )
    accessory_hue = _appearance(face, "accessory_hue")
    hat = _hsv(
        accessory_hue, torch.full_like(accessory_hue, 0.55), torch.full_like(accessory_hue, 0.55)
    )
    frames = _hsv(
        accessory_hue, torch.full_like(accessory_hue, 0.4), torch.full_like(accessory_hue, 0.22)
    )
    metal = _mix(
        _rgb((0.82, 0.82, 0.85), batch).to(device),
        _rgb((0.92, 0.74, 0.32), batch).to(device),
        (_appearance(face, "metal") > 0.5).float(),
    )
    colours = {
        "background": torch.zeros(batch, 3, device=device),
        "skin_face": skin,
        "skin_jaw": skin,
        "skin_chin": skin,
        "neck": skin * 0.93,
        "ear": skin * torch.tensor([1.0, 0.93, 0.9], device=device),
        "hair": hair,
        "hat": hat,
        "brow": brow,
        "sclera": _rgb((0.93, 0.91, 0.88), batch).to(device),
        "iris": iris,
        "pupil": _rgb((0.03, 0.03, 0.03), batch).to(device),
        "eyelid": skin * 0.9,
        "nose_ridge": skin,
        "nose_tip": skin,
        "nasal_ala": skin * torch.tensor([1.0, 0.96, 0.95], device=device),
        "nostril": skin * 0.3,
        "upper_lip": lips,
        "lower_lip": lips,
        "mouth_inner": _rgb((0.3, 0.07, 0.08), batch).to(device),
        "teeth": _rgb((0.93, 0.9, 0.82), batch).to(device),
        "cloth": cloth,
        "glasses": frames,
        "earring": metal,
        "necklace": metal,
    }
    return torch.stack([colours[name] for name in FINE_LABELS], dim=1).clamp(0, 1)


def light_directions(face: Face) -> Tensor:
    """(B, 3) unit key-light directions (toward the light) from the appearance parameters."""
    azimuth = _appearance(face, "light_azimuth")
    elevation = _appearance(face, "light_elevation")
    return torch.cat(
        [
            torch.sin(azimuth) * torch.cos(elevation),
            torch.sin(elevation),
            torch.cos(azimuth) * torch.cos(elevation),
        ],
        dim=-1,
    )


def sample_points(face: Face, points: Tensor) -> PointSamples:
    """Density, colour and fine label of B faces at points (B, N, 3) (or (N, 3) for B = 1)."""
    squeeze = points.ndim == 2
    if squeeze:
        points = points.unsqueeze(0)
    if points.shape[0] != len(face):
        raise ValueError(f"{len(face)} faces but points for {points.shape[0]}")
    geometry = face_geometry(face, points, with_labels=True)
    opaque, lens = geometry.opaque.sdf, geometry.lens
    density = density_from_sdf(opaque) + density_from_sdf(lens, LENS_SIGMA)
    in_lens = lens < opaque
    label = torch.where(in_lens, ID["glasses"], geometry.opaque.label)
    light = light_directions(face).to(points.dtype)
    lit = face_geometry(face, points + SHADING_STEP * light[:, None, :], with_labels=False)
    n_dot_l = ((lit.opaque.sdf - opaque) / SHADING_STEP).clamp(0, 1)
    ambient = _appearance(face, "light_ambient").to(points.dtype)
    shade = ambient + (1 - ambient) * n_dot_l
    albedo = torch.gather(albedo_table(face), 1, label[..., None].expand(*label.shape, 3))
    hair = (label == ID["hair"]).unsqueeze(-1)
    x, y, z = points.unbind(-1)
    strands = 0.95 + 0.05 * torch.sin(700 * (x + 0.35 * z) + 6 * torch.sin(50 * y))
    albedo = torch.where(hair, albedo * strands.unsqueeze(-1), albedo)
    albedo = torch.where(in_lens.unsqueeze(-1), albedo.new_tensor(LENS_TINT), albedo)
    rgb = (albedo * shade.unsqueeze(-1)).clamp(0, 1)
    if squeeze:
        return PointSamples(density[0], rgb[0], label[0])
    return PointSamples(density, rgb, label)
