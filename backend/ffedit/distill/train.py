"""Fitting a tri-plane generator to synthface teacher data (the shipped default model).

Each step takes a batch of teacher entries (face pairs: shape of A, appearance of B). The
generator's ws take their coarse layers from mapping(z_A) and their appearance layers
(`config.appearance_ws`) from mapping(z_B), so the appearance layers learn to carry
appearance only. Losses:

- rays (stochastic EG3D sampling) at teacher pixels, half of them drawn from the small
  classes (evenly between the small classes present): L1 on raw RGB, cross-entropy on the
  composited `base15` logits, L1 on foreground depth, binary cross-entropy of the opacity
  against the foreground;
- 3D points: cross-entropy between the generator's and the teacher's opacity over a short
  step (a sharp occupancy target), and label cross-entropy and colour L1 weighted by the
  teacher's occupancy.

With `teacher_mapping`, the mapping's first layer reads z only through synthface's parameter
directions (`align_mapping_to_teacher`): a thousand training faces cannot teach a 512-float
z which few dozen directions matter, and a free first layer memorises the rest. A few of its
units make steps where the teacher switches (an accessory appears), which smooth layers
would otherwise blur over the training faces near the switch.

`Distiller.step()` runs one optimisation step and returns the losses; the caller decides
when to save (`state_dict` / `load_state_dict` resume exactly, RNG included).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from ffedit.camera import unpack_cameras
from ffedit.generator import TriplaneGenerator
from ffedit.render import rays_from_cameras
from ffedit.synthface import LATENT_DIM, parameter_directions, switch_points

RARE_CLASSES = (2, 3, 4, 5, 6, 7, 8, 9, 11, 14)
"""base15 classes that cover few pixels (eyebrow, eye, glasses, ear, earring, nose, mouth,
lip, necklace, hat): half of the supervised rays are drawn from them."""


@dataclass(frozen=True)
class DistillConfig:
    """Optimisation settings of `Distiller`."""

    batch_size: int = 4
    """Entries per step."""
    rays_per_entry: int = 768
    """Supervised rays per entry and step."""
    rare_ray_fraction: float = 0.5
    """Share of rays drawn from pixels of `RARE_CLASSES` (when the view has any)."""
    points_per_entry: int = 2048
    """Supervised 3D points per entry and step."""
    learning_rate: float = 4e-3
    """Peak Adam learning rate (equalised-lr layers scale it per layer)."""
    total_steps: int | None = None
    """Steps of the whole run: the rate decays along a cosine to `final_lr_fraction` of the
    peak by then; None keeps it constant."""
    final_lr_fraction: float = 0.05
    """The learning rate at `total_steps`, as a fraction of the peak."""
    occupancy_step: float = 0.005
    """Δ (world units) of the opacity 1 − exp(−σΔ) compared at points."""
    rgb_weight: float = 1.0
    seg_weight: float = 0.5
    depth_weight: float = 2.0
    opacity_weight: float = 0.2
    point_occupancy_weight: float = 0.5
    point_seg_weight: float = 0.5
    point_rgb_weight: float = 0.5
    seed: int = 0
    """Seeds batch, ray and point selection."""
    teacher_mapping: bool = False
    """Fix the mapping's first layer to read z through synthface's parameter directions only
    (`align_mapping_to_teacher`); needs z_dim = synthface's LATENT_DIM."""


SWITCH_SHARPNESS = 10.0
"""Slope of a switch unit's pre-activation per unit of z along its parameter direction: the
unit pair's difference rises from its low to its high value over 1/10 of a standard deviation."""
SWITCH_STRENGTH = 4.0
"""Initial weights (× a standard normal) of the next layer on a switch unit pair's
difference: crossing one switch moves w by about a quarter of the distance between two
random faces' w."""


def align_mapping_to_teacher(generator: TriplaneGenerator, seed: int = 0) -> None:
    """Fix the mapping's first layer (weights and biases) to read z only along synthface's
    parameter directions (`parameter_directions`), and freeze it: w then depends on z only
    through what the teacher's faces depend on. ValueError when z_dim is not synthface's
    LATENT_DIM.

    Its last two units per teacher switch (`switch_points`: an accessory appearing, the
    hat's brim, the metal's colour) are a pair of leaky-ReLU kinks at the switch, one unit
    apart, so their difference is a step there (a smooth network blurs a step over the few
    training faces near it); the next layer starts with that difference along a random
    direction (`SWITCH_STRENGTH`). The other units are a fixed random mix of the parameter
    coordinates at the output scale of the layer's random init."""
    z_dim = generator.config.z_dim
    if z_dim != LATENT_DIM:
        raise ValueError(f"a teacher-aligned mapping needs z_dim {LATENT_DIM}; got {z_dim}")
    device = next(generator.parameters()).device
    directions = parameter_directions()
    columns, coordinates = switch_points()
    mapping = generator.backbone.mapping
    layer = mapping.fc0
    rng = torch.Generator().manual_seed(seed)
    count = directions.shape[1]
    mix = torch.randn(layer.out_features, count, generator=rng) * math.sqrt(z_dim / count)
    weight = mix @ directions.T / math.sqrt(layer.in_features)
    bias = torch.zeros(layer.out_features)
    kinks = torch.arange(layer.out_features - 2 * len(columns), layer.out_features)
    weight[kinks] = SWITCH_SHARPNESS * directions[:, columns].T.repeat_interleave(2, 0)
    offsets = torch.tensor([0.0, 1.0]).repeat(len(columns))
    bias[kinks] = -SWITCH_SHARPNESS * coordinates.repeat_interleave(2) - offsets
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[:, :z_dim] = weight.to(device) / layer.weight_gain
        layer.bias.copy_(bias.to(device) / layer.bias_gain)
        if mapping.num_layers > 1:
            fc1 = mapping.fc1
            step = SWITCH_STRENGTH * torch.randn(fc1.out_features, len(columns), generator=rng)
            step = step / math.sqrt(fc1.in_features) / fc1.weight_gain  # effective → stored
            fc1.weight[:, kinks] = torch.stack([step, -step], -1).flatten(1).to(device)
    layer.weight.requires_grad_(False)
    layer.bias.requires_grad_(False)


def compile_for_training(generator: TriplaneGenerator) -> None:
    """Compile the synthesis network and the decoders in place with `torch.compile` (state
    dict keys unchanged). On a 2-core CPU: 14 % faster steps in a profiling loop, no gain in
    the full v6 distillation run (0.90 vs 0.89 s/step)."""
    generator.backbone.synthesis.compile()
    generator.decoder.compile()


def mixed_ws(
    generator: TriplaneGenerator, z_shape: torch.Tensor, z_appearance: torch.Tensor
) -> torch.Tensor:
    """ws (B, num_ws, w_dim): coarse layers from z_shape, appearance layers from z_appearance."""
    conditioning = torch.zeros(len(z_shape), generator.config.c_dim, device=z_shape.device)
    ws = generator.mapping(z_shape, conditioning)
    appearance = list(generator.config.appearance_ws)
    ws_appearance = generator.mapping(z_appearance, conditioning)
    mixed = ws.clone()
    mixed[:, appearance] = ws_appearance[:, appearance]
    return mixed


def sample_ray_indices(
    labels: torch.Tensor, count: int, rare_fraction: float, rng: torch.Generator
) -> torch.Tensor:
    """Pixel indices (count,) into the flattened views (V·H·W) of labels (V, H, W).

    The rare share is split evenly between the `RARE_CLASSES` present (each pixel weighted
    by one over its class's pixel count): an earring of a few pixels gets as many rays as
    the nose, and the uniform share covers the large classes.
    """
    flat = labels.reshape(-1).long()
    rare = torch.isin(flat, torch.tensor(RARE_CLASSES))
    weights = torch.where(rare, 1.0 / torch.bincount(flat).double()[flat], 0.0)
    num_rare = int(count * rare_fraction) if rare.any() else 0
    uniform = torch.randint(0, len(flat), (count - num_rare,), generator=rng)
    if num_rare == 0:
        return uniform
    picked = torch.multinomial(weights, num_rare, replacement=True, generator=rng)
    return torch.cat([uniform, picked])


def _rays_of_entries(batch: dict[str, torch.Tensor], indices: torch.Tensor, resolution: int):
    """Origins and directions (B, R, 3) of the chosen pixels (B, R) of each entry's views."""
    cameras = batch["cameras"]  # (B, V, 25)
    entries, views = cameras.shape[:2]
    origins, directions = rays_from_cameras(
        *unpack_cameras(cameras.reshape(-1, 25)), resolution
    )  # (B·V, H·W, 3)
    origins = origins.reshape(entries, views * resolution * resolution, 3)
    directions = directions.reshape(entries, views * resolution * resolution, 3)
    gather = indices.unsqueeze(-1).expand(-1, -1, 3)
    return origins.gather(1, gather), directions.gather(1, gather)


def _gather_pixels(images: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """(B, V, C, H, W) or (B, V, H, W) images → (B, R, C) values at flattened pixel indices."""
    if images.ndim == 4:
        images = images.unsqueeze(2)
    entries, _, channels = images.shape[:3]
    flat = images.permute(0, 2, 1, 3, 4).reshape(entries, channels, -1)
    return flat.gather(2, indices.unsqueeze(1).expand(-1, channels, -1)).permute(0, 2, 1)


def _soft_bce(probability: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    probability = probability.clamp(1e-5, 1 - 1e-5)
    return -(target * probability.log() + (1 - target) * (1 - probability).log()).mean()


@torch.no_grad()
def set_mean_w(generator: TriplaneGenerator, count: int = 10_000, seed: int = 0) -> torch.Tensor:
    """Set the mapping's `w_avg` (truncation's centre, EG3D's training-time EMA) to the mean
    w of `count` seeded z ~ N(0, I), as a distilled generator never updates it; returns it."""
    device = next(generator.parameters()).device
    z = torch.randn(count, generator.config.z_dim, generator=torch.Generator().manual_seed(seed))
    conditioning = torch.zeros(1, generator.config.c_dim, device=device)
    mean = generator.mapping(z.to(device), conditioning)[:, 0].mean(0)
    generator.backbone.mapping.w_avg.copy_(mean)
    return mean


def scheduled_learning_rate(config: DistillConfig, step: int) -> float:
    """The learning rate of step `step` (0-based): cosine decay over `total_steps`."""
    if config.total_steps is None:
        return config.learning_rate
    progress = min(step / max(config.total_steps, 1), 1.0)
    fraction = config.final_lr_fraction + (1 - config.final_lr_fraction) * 0.5 * (
        1 + math.cos(math.pi * progress)
    )
    return config.learning_rate * fraction


def _finite(tensor: torch.Tensor) -> bool:
    return bool(torch.isfinite(tensor).all())


class Distiller:
    """Owns the optimiser and RNG of a distillation run over in-memory teacher entries."""

    def __init__(
        self,
        generator: TriplaneGenerator,
        entries: dict[str, torch.Tensor],
        config: DistillConfig,
    ) -> None:
        self.generator = generator
        self.entries = entries
        self.config = config
        if config.teacher_mapping:
            align_mapping_to_teacher(generator)
        self.resolution = entries["labels"].shape[-1]
        self.optimizer = torch.optim.Adam(
            [p for p in generator.parameters() if p.requires_grad],
            lr=config.learning_rate,
            betas=(0.9, 0.99),
        )
        self.rng = torch.Generator().manual_seed(config.seed)
        self.step_index = 0
        self.skipped_steps = 0

    @property
    def num_entries(self) -> int:
        return len(self.entries["z_shape"])

    def _batch(self) -> dict[str, torch.Tensor]:
        picks = torch.randint(0, self.num_entries, (self.config.batch_size,), generator=self.rng)
        return {key: value[picks] for key, value in self.entries.items()}

    def losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The weighted loss terms of one batch (and their sum under 'total')."""
        config, generator = self.config, self.generator
        device = next(generator.parameters()).device
        batch = {key: value.to(device) for key, value in batch.items()}
        ws = mixed_ws(generator, batch["z_shape"], batch["z_appearance"])
        planes = generator.split_planes(generator.synthesize_planes(ws, noise_mode="const"))

        indices = torch.stack(
            [
                sample_ray_indices(
                    labels.cpu(), config.rays_per_entry, config.rare_ray_fraction, self.rng
                )
                for labels in batch["labels"]
            ]
        ).to(device)
        origins, directions = _rays_of_entries(batch, indices, self.resolution)
        rays = generator.render_rays(planes, origins, directions, deterministic=False)
        target_rgb = _gather_pixels(batch["rgb"], indices)
        target_labels = _gather_pixels(batch["labels"], indices)[..., 0].long()
        target_depth = _gather_pixels(batch["depth"], indices)
        foreground = (target_labels > 0).float().unsqueeze(-1)
        terms = {
            "rgb": config.rgb_weight * (rays.features[..., :3] - target_rgb).abs().mean(),
            "seg": config.seg_weight
            * F.cross_entropy(
                rays.seg_logits.reshape(-1, rays.seg_logits.shape[-1]), target_labels.reshape(-1)
            ),
            "depth": config.depth_weight
            * ((rays.depth - target_depth).abs() * foreground).sum()
            / foreground.sum().clamp_min(1),
            "opacity": config.opacity_weight * _soft_bce(rays.opacity, foreground),
        }

        points = batch["points"]
        picks = torch.randint(
            0, points.shape[1], (config.points_per_entry,), generator=self.rng
        ).to(device)
        points = points[:, picks]
        point_dirs = F.normalize(torch.randn(points.shape, generator=self.rng), dim=-1)
        point_dirs = point_dirs.to(device)
        samples = generator.sample_points(planes, points, point_dirs)
        step = config.occupancy_step
        sigma = F.softplus(samples.sigma[..., 0] + generator.config.render.density_shift)
        occupancy = 1 - torch.exp(-sigma * step)
        target_occupancy = 1 - torch.exp(-batch["density"][:, picks] * step)
        weight = target_occupancy / target_occupancy.sum().clamp_min(1)
        point_ce = F.cross_entropy(
            samples.seg_logits.permute(0, 2, 1),
            batch["point_labels"][:, picks].long(),
            reduction="none",
        )
        point_rgb = (samples.features[..., :3] * 2 - 1 - batch["point_rgb"][:, picks]).abs()
        terms |= {
            "point_occupancy": config.point_occupancy_weight
            * _soft_bce(occupancy, target_occupancy),
            "point_seg": config.point_seg_weight * (point_ce * weight).sum(),
            "point_rgb": config.point_rgb_weight * (point_rgb.mean(-1) * weight).sum(),
        }
        terms["total"] = sum(terms.values())
        return terms

    def step(self) -> dict[str, float]:
        """One optimisation step; returns the loss terms as floats and 'skipped', the steps
        skipped so far. A step whose loss or gradients are not finite changes nothing (a
        rare ray/point batch must not turn the weights into NaN)."""
        self.generator.train()
        terms = self.losses(self._batch())
        self.optimizer.zero_grad(set_to_none=True)
        if _finite(terms["total"]):
            terms["total"].backward()
        gradients = [p.grad for p in self.generator.parameters() if p.grad is not None]
        if gradients and all(_finite(gradient) for gradient in gradients):
            for group in self.optimizer.param_groups:
                group["lr"] = scheduled_learning_rate(self.config, self.step_index)
            self.optimizer.step()
        else:
            self.skipped_steps += 1
        self.step_index += 1
        losses = {name: float(value.detach()) for name, value in terms.items()}
        return losses | {"skipped": float(self.skipped_steps)}

    def state_dict(self) -> dict:
        return {
            "generator": self.generator.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.get_state(),
            "torch_rng": torch.get_rng_state(),  # EG3D's stochastic ray sampling uses it
            "step": self.step_index,
            "skipped_steps": self.skipped_steps,
            "config": asdict(self.config),
            "generator_config": self.generator.config.to_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume a state saved by `state_dict`; ValueError when it was trained with the
        other `teacher_mapping` setting (the frozen layers would differ)."""
        recorded = bool(state.get("config", {}).get("teacher_mapping", False))
        if recorded != self.config.teacher_mapping:
            raise ValueError(
                f"the training state was saved with teacher_mapping={recorded}; resume it with "
                "the same setting or start a new run"
            )
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.step_index = int(state["step"])
        self.skipped_steps = int(state.get("skipped_steps", 0))
