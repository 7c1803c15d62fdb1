"""Face parameters: named shape and appearance parameters derived from a Gaussian latent.

A face is a latent z ~ N(0, I) of `LATENT_DIM` = 512 floats (the generators' z size).
Shape parameters come from z[:256] only, appearance parameters from z[256:] only, so
"shape of face A, appearance of face B" is well defined (`Face.with_appearance_of`).

Each parameter k of a half h is g_k = ⟨h, q_k⟩ with fixed orthonormal directions q_k
(seeded, so g_k ~ N(0, 1) independently), u_k = Φ(g_k) (uniform on (0, 1)), and the value
low + (high − low)·u_k clamped to the parameter's valid range [lower, upper]. A sampling
range reaching past a limit gives that limit a probability mass: the mouth is closed
(mouth_open = 0) for about 60 % of faces and an accessory is absent (value 0) unless its
value is positive. Edits (see `edits.py`) move values within the valid ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import torch

LATENT_DIM = 512
"""Size of a synthface latent (equal to the generators' z)."""
SHAPE_DIM = 256
"""z[:SHAPE_DIM] drives the shape parameters, the rest the appearance parameters."""
# Seeds of the shape and appearance projections: fixed forever (datasets depend on them).
_PROJECTION_SEEDS = (20250611, 20250612)


@dataclass(frozen=True)
class ParameterSpec:
    """One named face parameter."""

    name: str
    """Parameter name, e.g. `eye_scale`."""
    low: float
    """Value at u = 0 (the sampling range may reach past the valid range)."""
    high: float
    """Value at u = 1."""
    lower: float
    """Smallest valid value (sampling and edits clamp to it)."""
    upper: float
    """Largest valid value."""
    doc: str
    """What the parameter controls, with its unit."""


def _spec(name: str, low: float, high: float, doc: str, limits: tuple[float, float] | None = None):
    lower, upper = limits if limits is not None else (min(low, high), max(low, high))
    return ParameterSpec(name, low, high, lower, upper, doc)


# Valid ranges are wider than the sampling ranges where edits may push a face past the
# population (bigger eyes than any sampled face), and stay inside what the geometry handles
# without parts intersecting or leaving the box.
SHAPE_PARAMETERS: tuple[ParameterSpec, ...] = (
    _spec("head_width", 0.93, 1.07, "cranium and face width (×)", (0.88, 1.12)),
    _spec("head_height", 0.95, 1.05, "cranium height (×)", (0.9, 1.1)),
    _spec("face_length", 0.95, 1.05, "midface and lower face height (×)", (0.9, 1.1)),
    _spec("cheek_fullness", 0.9, 1.1, "cheek size (×)", (0.85, 1.15)),
    _spec("jaw_width", 0.88, 1.12, "mandible width at the jaw angles (×)", (0.75, 1.25)),
    _spec(
        "chin_length", -0.008, 0.008, "chin drop below the default (world units)", (-0.02, 0.025)
    ),
    _spec("chin_width", 0.85, 1.15, "chin width (×)", (0.7, 1.3)),
    _spec("eye_scale", 0.9, 1.1, "eyeball, eye opening and socket size (×)", (0.75, 1.3)),
    _spec("eye_spacing", -0.005, 0.005, "extra half-distance between the eyes (world units)"),
    _spec("eye_height", -0.006, 0.006, "eye height offset (world units)"),
    _spec("eye_tilt", -0.12, 0.12, "canthal tilt, outer corner up (radians)"),
    _spec("iris_scale", 0.9, 1.1, "iris radius (×)", (0.7, 1.35)),
    _spec("pupil_scale", 0.8, 1.25, "pupil radius (×)", (0.5, 1.8)),
    _spec("eyelid_upper", 0.0, 1.0, "upper-lid coverage of the eyeball (0 open … 1 hooded)"),
    _spec("eyelid_lower", 0.0, 1.0, "lower-lid coverage (0 low … 1 high)", (-0.6, 2.0)),
    _spec("brow_thickness", 0.75, 1.3, "eyebrow thickness (×)", (0.5, 1.6)),
    _spec("brow_height", -0.005, 0.005, "eyebrow height offset (world units)", (-0.012, 0.02)),
    _spec("brow_angle", -0.12, 0.12, "eyebrow slope, outer end up (radians)"),
    _spec("nose_length", 0.9, 1.1, "nose length from the bridge to the tip (×)", (0.75, 1.25)),
    _spec("nose_width", 0.88, 1.12, "width of the bridge, tip and alae spacing (×)", (0.7, 1.35)),
    _spec("nose_projection", 0.9, 1.1, "how far the tip projects forward (×)"),
    _spec("nose_tip", 0.88, 1.12, "nose tip size (×)", (0.75, 1.3)),
    _spec("ala_width", 0.85, 1.15, "nasal ala size (×)", (0.6, 1.5)),
    _spec("mouth_width", 0.9, 1.1, "mouth width (×)", (0.8, 1.25)),
    _spec("lip_thickness", 0.8, 1.25, "lip thickness (×)", (0.55, 1.6)),
    _spec("mouth_open", -1.6, 1.0, "jaw drop and lip parting (0 closed … 1 open)", (0.0, 1.0)),
    _spec("ear_scale", 0.9, 1.1, "ear size (×)", (0.8, 1.2)),
    _spec("ear_flare", 0.0, 1.0, "how far the ears stand out (0 flat … 1 out)"),
    _spec("hair_volume", 0.015, 0.05, "hair thickness over the skull (world units)"),
    _spec("hair_length", -0.6, 1.0, "hair length (0 short … 1 past the shoulders)", (0.0, 1.0)),
    _spec("hairline", 0.0, 1.0, "hairline height (0 low … 1 receding)"),
    _spec("bangs", -1.5, 1.0, "fringe over the forehead (0 none … 1 long)", (0.0, 1.0)),
    _spec("neck_width", 0.92, 1.08, "neck thickness (×)"),
    _spec("shoulder_width", 0.92, 1.08, "shoulder width (×)"),
    _spec("collar", 0.0, 1.0, "neckline (0 crew neck … 1 open collar)"),
    _spec("glasses", -5.0, 1.0, "glasses (0 none; >0 on, value = lens size)", (0.0, 1.0)),
    _spec("hat", -8.0, 1.0, "hat (0 none; >0 on, value = style: beanie … cap)", (0.0, 1.0)),
    _spec("earrings", -5.0, 1.0, "earrings (0 none; >0 on, value = drop length)", (0.0, 1.0)),
    _spec("necklace", -6.0, 1.0, "necklace (0 none; >0 on, value = pendant size)", (0.0, 1.0)),
)
"""Shape parameters (from z[:256]); geometry and every fine label depend on these only."""

APPEARANCE_PARAMETERS: tuple[ParameterSpec, ...] = (
    _spec("skin_tone", 0.0, 1.0, "skin lightness (0 light … 1 dark)"),
    _spec("skin_warmth", 0.0, 1.0, "skin undertone (0 pink … 1 golden)"),
    _spec("hair_tone", 0.0, 1.0, "hair colour (0 black … 0.6 brown … 1 blond)"),
    _spec("hair_red", 0.0, 1.0, "red tint of the hair"),
    _spec("iris_tone", 0.0, 1.0, "iris colour (0 brown … 0.5 green … 1 blue)"),
    _spec("lip_tint", 0.0, 1.0, "lip redness"),
    _spec("brow_darkness", 0.0, 1.0, "eyebrows relative to the hair (0 as hair … 1 darker)"),
    _spec("cloth_hue", 0.0, 1.0, "clothing hue (0…1 around the colour wheel)"),
    _spec("cloth_saturation", 0.0, 0.8, "clothing saturation"),
    _spec("cloth_value", 0.15, 0.95, "clothing brightness"),
    _spec("accessory_hue", 0.0, 1.0, "hat and glasses frame hue"),
    _spec("metal", 0.0, 1.0, "earrings and necklace: silver (<0.5) or gold"),
    _spec("light_azimuth", -0.8, 0.8, "key light direction left/right (radians)"),
    _spec("light_elevation", 0.1, 0.8, "key light elevation (radians)"),
    _spec("light_ambient", 0.35, 0.6, "share of ambient (unshaded) light"),
)
"""Appearance parameters (from z[256:]); colours and baked shading depend on these only."""


@cache
def _projection(seed: int, count: int, dim: int) -> torch.Tensor:
    """(dim, count) orthonormal columns, fixed by `seed`, in float64."""
    generator = torch.Generator().manual_seed(seed)
    gaussian = torch.randn(dim, count, generator=generator, dtype=torch.float64)
    return torch.linalg.qr(gaussian).Q


def _values_from_half(half: torch.Tensor, specs: tuple[ParameterSpec, ...], seed: int):
    projected = half.double() @ _projection(seed, len(specs), half.shape[-1])
    uniform = 0.5 * (1 + torch.erf(projected / math.sqrt(2)))
    low = torch.tensor([s.low for s in specs], dtype=torch.float64)
    high = torch.tensor([s.high for s in specs], dtype=torch.float64)
    lower = torch.tensor([s.lower for s in specs], dtype=torch.float64)
    upper = torch.tensor([s.upper for s in specs], dtype=torch.float64)
    values = (low + (high - low) * uniform).clamp(lower, upper)
    return values.to(torch.float32)


def parameter_directions() -> torch.Tensor:
    """(LATENT_DIM, P) float32: the unit directions of z whose projections drive the P shape
    and appearance parameters (shape ones in z[:SHAPE_DIM], then appearance ones in the rest).
    Every face parameter depends on z only through these P coordinates."""
    directions = torch.zeros(LATENT_DIM, len(SHAPE_PARAMETERS) + len(APPEARANCE_PARAMETERS))
    shape = _projection(_PROJECTION_SEEDS[0], len(SHAPE_PARAMETERS), SHAPE_DIM)
    appearance = _projection(
        _PROJECTION_SEEDS[1], len(APPEARANCE_PARAMETERS), LATENT_DIM - SHAPE_DIM
    )
    directions[:SHAPE_DIM, : len(SHAPE_PARAMETERS)] = shape.float()
    directions[SHAPE_DIM:, len(SHAPE_PARAMETERS) :] = appearance.float()
    return directions


SWITCHES: tuple[tuple[str, float], ...] = (
    ("glasses", 0.0),
    ("hat", 0.0),
    ("hat", 0.5),
    ("earrings", 0.0),
    ("necklace", 0.0),
    ("metal", 0.5),
)
"""(parameter, value) where a face changes abruptly as the value passes it: an accessory
appears above 0 (geometry.py), the hat grows a brim above 0.5, the metal turns from silver
to gold above 0.5 (field.py). Everywhere else faces change smoothly with their parameters."""


def switch_points() -> tuple[list[int], torch.Tensor]:
    """The `SWITCHES` on `parameter_directions`: for each, the column of its parameter and
    the coordinate of z along that direction where the value crosses the switch (float32)."""
    specs = SHAPE_PARAMETERS + APPEARANCE_PARAMETERS
    columns, coordinates = [], []
    for name, value in SWITCHES:
        column = _index(specs, name)
        spec = specs[column]
        uniform = torch.tensor((value - spec.low) / (spec.high - spec.low), dtype=torch.float64)
        columns.append(column)
        coordinates.append(math.sqrt(2) * torch.erfinv(2 * uniform - 1))
    return columns, torch.stack(coordinates).float()


def _index(specs: tuple[ParameterSpec, ...], name: str) -> int:
    for index, spec in enumerate(specs):
        if spec.name == name:
            return index
    raise KeyError(name)


@dataclass(frozen=True, eq=False)
class Face:
    """A batch of B faces: parameter values as tensors (float32, CPU or any device).

    Compare faces by their tensors (`torch.equal(a.shape, b.shape)`), not with ==."""

    shape: torch.Tensor
    """(B, len(SHAPE_PARAMETERS)) shape parameter values, in `SHAPE_PARAMETERS` order."""
    appearance: torch.Tensor
    """(B, len(APPEARANCE_PARAMETERS)) appearance parameter values."""

    def __post_init__(self) -> None:
        if self.shape.ndim != 2 or self.shape.shape[1] != len(SHAPE_PARAMETERS):
            raise ValueError(f"shape parameters must be (B, {len(SHAPE_PARAMETERS)})")
        if self.appearance.shape != (self.shape.shape[0], len(APPEARANCE_PARAMETERS)):
            raise ValueError(f"appearance parameters must be (B, {len(APPEARANCE_PARAMETERS)})")

    def __len__(self) -> int:
        return self.shape.shape[0]

    def __getitem__(self, index: int | slice) -> Face:
        """The faces at `index` (an int keeps a batch of one)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return Face(self.shape[index], self.appearance[index])

    def parameter(self, name: str) -> torch.Tensor:
        """(B,) values of the shape or appearance parameter `name`."""
        try:
            return self.shape[:, _index(SHAPE_PARAMETERS, name)]
        except KeyError:
            pass
        try:
            return self.appearance[:, _index(APPEARANCE_PARAMETERS, name)]
        except KeyError:
            known = ", ".join(s.name for s in SHAPE_PARAMETERS + APPEARANCE_PARAMETERS)
            raise KeyError(f"unknown face parameter {name!r}; known: {known}") from None

    def with_shape_value(self, name: str, values: torch.Tensor | float) -> Face:
        """A copy with shape parameter `name` set to `values` (clamped to its valid range)."""
        index = _index(SHAPE_PARAMETERS, name)
        spec = SHAPE_PARAMETERS[index]
        shape = self.shape.clone()
        shape[:, index] = torch.as_tensor(values, dtype=shape.dtype).clamp(spec.lower, spec.upper)
        return Face(shape, self.appearance)

    def with_appearance_of(self, other: Face) -> Face:
        """These faces' shapes with `other`'s appearance (same batch size)."""
        return Face(self.shape, other.appearance.to(self.shape.device))

    def to(self, device: torch.device | str) -> Face:
        return Face(self.shape.to(device), self.appearance.to(device))


def latent_from_seed(seed: int) -> torch.Tensor:
    """(LATENT_DIM,) float32 z ~ N(0, I) from a seeded torch.Generator (CPU)."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(LATENT_DIM, generator=generator)


def face_from_latent(z: torch.Tensor) -> Face:
    """Faces from latents z (B, 512) or (512,): shape from z[:256], appearance from z[256:]."""
    z = z.reshape(-1, LATENT_DIM)
    shape = _values_from_half(z[:, :SHAPE_DIM].cpu(), SHAPE_PARAMETERS, _PROJECTION_SEEDS[0])
    appearance = _values_from_half(
        z[:, SHAPE_DIM:].cpu(), APPEARANCE_PARAMETERS, _PROJECTION_SEEDS[1]
    )
    return Face(shape.to(z.device), appearance.to(z.device))


def faces_from_seeds(seeds: list[int] | range) -> Face:
    """A batch of faces, one per seed, in order."""
    return face_from_latent(torch.stack([latent_from_seed(seed) for seed in seeds]))
