"""`AdapterTrainingConfig`: every setting of `fit_adapter`, with the paper's and a fast preset.

`TRAINING_PRESETS["paper"]` is FFaceNeRF's schedule (5000 steps, batch 4, CE + 0.1·Dice
after step 1000, LMTA p = 0.5, OneCycle to 0.01, 96 + 96 samples per ray, random backbone
noise) with the straightforward trainer that renders whole images every step.
`TRAINING_PRESETS["fast"]` is the project's CPU default: the same method with the cached,
ray-sampled trainer, a shorter schedule (see docs/benchmarks.md, "Few-shot layouts", for
what it costs in quality) and the "positional" adapter, which also reads where a point lies
(a region painted on a smooth surface, such as a cheek patch, is otherwise not learnable).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ffedit.adapter.network import ADAPTER_HIDDEN, ADAPTER_VARIANTS, AdapterVariant
from ffedit.generator.synthesis import NOISE_MODES, NoiseMode

Trainer = Literal["fast", "full"]
TRAINERS: tuple[str, ...] = get_args(Trainer)


@dataclass(frozen=True)
class AdapterTrainingConfig:
    """Settings of one adapter training run (both trainers unless noted)."""

    steps: int = 1500
    """Optimizer steps."""
    batch_size: int = 4
    """Samples per step; epochs are shuffled and the last batch of an epoch may be smaller."""
    max_lr: float = 0.01
    """Peak learning rate of the OneCycle schedule (PyTorch defaults: pct_start 0.3,
    div_factor 25, final_div_factor 1e4, cosine annealing, beta1 cycling 0.95 → 0.85)."""
    overlap_weight: float = 0.1
    """λ of the overlap (Dice) loss; 0 turns it off."""
    overlap_start_step: int = 300
    """The overlap loss counts from this (0-based) step on: stage one is the steps before
    (the paper: 1000)."""
    lmta_probability: float = 0.5
    """Chance that a batch is augmented by latent mixing; 0 turns LMTA off."""
    lmta_layers: tuple[int, ...] | None = None
    """ws rows mixed by LMTA; None: the generator's `appearance_ws`."""
    variant: AdapterVariant = "positional"
    """'positional' (feature injection and the point's position: this project's default),
    'injection' (the paper's) or 'simple' (no feature injection, an ablation); see
    `ffedit.adapter.network`."""
    hidden: int = ADAPTER_HIDDEN
    """Hidden width of the adapter."""
    trainer: Trainer = "fast"
    """'fast': cached inputs, ray-sampled steps; 'full': whole images rendered every step."""
    samples_per_ray: tuple[int, int] | None = None
    """(coarse, importance) samples per ray; None: the generator's own."""
    rays_per_sample: int = 512
    """fast: rays per sample per step, class-stratified from the sample's ray pool."""
    pool_rays: int = 2048
    """fast: rays cached per sample (class-stratified from its mask, all pixels if fewer)."""
    points_per_ray: int | None = 16
    """fast: samples kept per cached ray (largest compositing weights); None keeps all."""
    lmta_pool: int = 4
    """fast: random mixing latents precomputed (each one cached for every sample)."""
    chunk_rays: int = 2048
    """full: rays per rendering pass (recomputed in the backward pass to bound memory)."""
    backbone_noise: NoiseMode = "const"
    """full: backbone noise of each step's planes. 'const' renders them as the app does (the
    shipped model was distilled at constant noise: random noise changes 17 % of its `base15`
    labels); 'random' draws it every step, as the paper does with EG3D, whose generator was
    trained with random noise. The fast trainer caches planes at constant noise."""
    seed: int = 0
    """Seeds the adapter's initialisation and every random choice of the run."""

    def __post_init__(self) -> None:
        positive = ("steps", "batch_size", "hidden", "rays_per_sample", "pool_rays", "chunk_rays")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.points_per_ray is not None and self.points_per_ray < 1:
            raise ValueError(
                f"points_per_ray must be at least 1 or None, got {self.points_per_ray}"
            )
        if self.max_lr <= 0 or self.overlap_weight < 0 or self.overlap_start_step < 0:
            raise ValueError("max_lr must be positive; overlap weight and start step not negative")
        if not 0 <= self.lmta_probability <= 1:
            raise ValueError(f"lmta_probability must lie in [0, 1], got {self.lmta_probability}")
        if self.lmta_pool < 0:
            raise ValueError(f"lmta_pool must not be negative, got {self.lmta_pool}")
        if self.variant not in ADAPTER_VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; known: {ADAPTER_VARIANTS}")
        if self.backbone_noise not in NOISE_MODES:
            raise ValueError(
                f"unknown backbone noise {self.backbone_noise!r}; known: {NOISE_MODES}"
            )
        if self.trainer not in TRAINERS:
            raise ValueError(f"unknown trainer {self.trainer!r}; known: {TRAINERS}")
        if self.samples_per_ray is not None and (
            len(self.samples_per_ray) != 2 or min(self.samples_per_ray) < 0
        ):
            raise ValueError(
                f"samples_per_ray must be (coarse, importance), not {self.samples_per_ray}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdapterTrainingConfig:
        """Rebuild from `to_dict` output (JSON lists become tuples); unknown keys are an error."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown adapter training fields: {', '.join(unknown)}")
        values = dict(data)
        for name in ("lmta_layers", "samples_per_ray"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)


def with_steps(config: AdapterTrainingConfig, steps: int) -> AdapterTrainingConfig:
    """`config` shortened or lengthened to `steps`, stage one keeping its share of them."""
    start = round(config.overlap_start_step * steps / config.steps)
    return dataclasses.replace(config, steps=steps, overlap_start_step=start)


TRAINING_PRESETS: dict[str, AdapterTrainingConfig] = {
    "paper": AdapterTrainingConfig(
        steps=5000,
        batch_size=4,
        overlap_weight=0.1,
        overlap_start_step=1000,
        trainer="full",
        samples_per_ray=(96, 96),
        backbone_noise="random",
        variant="injection",
    ),
    "fast": AdapterTrainingConfig(),
}
"""Named training configurations ('paper', 'fast')."""
