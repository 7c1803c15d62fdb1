"""`EditConfig`: every setting of `optimize_latent`; `paper_edit_config`: FFaceNeRF's.

The paper's edit (FFaceNeRF §5): a W+ offset initialised as randn(1, 1, w_dim)·0.01 repeated
over the layers, Adam at lr 0.02 for 100 steps, loss CE + λ·overlap (λ = 0.5 for eyes) on the
target mask plus preservation of the raw RGB outside the edited region. On a mask a user
paints (the prediction with a few pixels changed) that edit drifts: the few painted pixels
weigh ~0.1 % of the whole-image CE, the random start and Adam's per-entry steps move every
entry of the offset whatever the gradient says, and nothing holds what other views see.
The defaults here are this project's method (`ffedit.edit.losses`, `ffedit.edit.guards`):
the painted pixels' own cross-entropy (until they reach `painted_confidence`), the other
pixels' class distributions kept (KL to the source), guard views at `guard_yaws`, a zero
start and a smaller learning rate. Both keep the preservation terms MSE + SSIM (LPIPS only
with user-supplied weights, as they cannot be downloaded) and, by default, render only the
rays the losses need each step (`full_frame=False`; see `optimize`).

Tried on dev faces (100–105; user protocol, as `ffedit bench edits`) and not kept:

- only the geometry layers move: collateral 0.8 → 1.6 %;
- KL keep near the paint (`near_keep_weight` 0.1): eyes recall 0.91 → 0.60;
- isotropic Adam (`optimizer="isotropic"`): neutral (collateral 0.87 vs 0.82 %);
- a hinge holding every unpainted pixel's class, at parity with a painted pixel: small
  edits' recall 0.83 → 0.00, collateral 0.54 → 0.17 % (at weight 0.2: recall 0.27);
- that hinge from step 50 on, with the pixels drifted by then drawn every step: recall
  0.05–0.25 (holding the rest undoes the edit);
- learning rate 0.01 for every edit: large edits' recall 0.78 → 0.86, but small edits'
  collateral 0.54 → 0.58 % and PSNR outside 40.6 → 37.4 dB (hence a rate that grows with
  the painted area, `max_learning_rate`).

The hinge results say that on this generator a painted change of a few pixels comes with
changes elsewhere (a fine class of the same part flipping, edges moving by a pixel): the
latent has no direction that moves those pixels alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

OBJECTIVES = ("painted", "paper")
"""`EditConfig.objective` values."""
OPTIMIZERS = ("adam", "isotropic")
"""`EditConfig.optimizer` values."""


@dataclass(frozen=True)
class EditConfig:
    """Settings of one mask-driven edit."""

    steps: int = 100
    """Adam steps."""
    learning_rate: float = 0.005
    """Adam learning rate (betas 0.9, 0.999) of an edit painting up to `rate_pixels` pixels;
    the paper's is 0.02."""
    max_learning_rate: float | None = 0.01
    """Beyond `rate_pixels` painted pixels the rate grows as the square root of their count
    (a larger change has further to move the face), up to this (a `learning_rate` above it
    stays as it is); None: `learning_rate` whatever the edit's size (`edit_learning_rate`)."""
    rate_pixels: int = 50
    """Painted pixels up to which an edit takes `learning_rate`."""
    optimizer: str = "adam"
    """"adam": per-entry second moments (the paper); "isotropic": one for the whole offset,
    so steps follow the gradient's direction (`ffedit.edit.isotropic`)."""
    overlap_weight: float = 0.5
    """λ of the overlap (Dice) loss; 0 leaves cross-entropy alone."""
    objective: str = "painted"
    """"painted": cross-entropy on the painted pixels, the other pixels' class
    distributions kept (`keep_weight`); "paper": FFaceNeRF's whole-image CE + λ·overlap
    (see `ffedit.edit.losses`)."""
    painted_confidence: float = 0.8
    """"painted": probability of its painted class beyond which a painted pixel's
    cross-entropy stops pulling (1: never)."""
    keep_weight: float = 10.0
    """"painted": weight of the KL divergence keeping the classes of the pixels outside the
    dilated edit region (a mean over them)."""
    near_keep_weight: float = 0.0
    """"painted": weight of the KL divergence keeping the unpainted pixels inside the dilated
    edit region, per pixel relative to a painted pixel's cross-entropy (1: parity)."""
    guard_yaws: tuple[float, ...] = (-0.5, 0.5)
    """Yaws (radians) by which the edit camera is turned for the guard views, where the
    unpainted part of the face keeps its classes and colour (`ffedit.edit.guards`); ():
    none (the paper)."""
    guard_rays: int = 96
    """Fast path: rays drawn per guard view and step (the full frame renders all)."""
    layers: tuple[int, ...] | None = None
    """ws rows the offset may move; None: all of them (the paper). The others stay bitwise."""
    init_scale: float = 0.0
    """The offset starts as randn(w_dim)·init_scale, the same vector on every moving layer
    (the paper's 0.01 moves a face whose target equals its prediction)."""
    dilation: int = 2
    """Pixels the edit region (target ≠ current prediction) grows by before preservation
    applies outside it (a square structuring element of side 2·dilation + 1)."""
    mse_weight: float = 1.0
    """Weight of the MSE of the raw RGB against the source, outside the dilated region."""
    ssim_weight: float = 1.0
    """Weight of 1 − SSIM (7×7 Gaussian windows lying wholly outside the dilated region)."""
    lpips_weight: float = 1.0
    """Weight of masked LPIPS-VGG; used only when `lpips_weights` is set."""
    lpips_weights: str | None = None
    """Path of LPIPS-VGG weights already on disk (see `ffedit.edit.lpips`); None: no LPIPS.
    LPIPS needs whole images, so it requires `full_frame=True`."""
    full_frame: bool = False
    """Render every pixel at every step (the paper's procedure, the reference twin) instead
    of the edit region's rays plus a resampled share of the others."""
    context_rays: int = 256
    """Fast path: rays drawn each step from outside the dilated edit region, stratified by
    target class (all of them if there are fewer); they carry pixel weights so that sums
    estimate whole-image sums."""
    region_rays: int | None = 512
    """Fast path: at most this many rays of the dilated edit region per step, drawn like the
    context rays (class-stratified, weighted); None renders the whole region every step.
    On the default model (face 0, eyes.scale and mouth.open, teacher targets, 2 CPUs), the
    whole region took ≈ 80 s per edit; 1024 region + 512 context rays 27.5 s, 512 + 256
    19.5 s (target IoU 52.2 → 52.1 %, unseen views 42.6 → 40.3 %)."""
    ssim_patches: int = 4
    """Fast path: SSIM windows (7×7 pixels each) drawn each step; the full frame uses every
    valid window."""
    sample_threshold: float = 2e-3
    """Fast path: colour features and segmentation logits are decoded only at the samples
    whose compositing weight exceeds it (σ everywhere), the rest of a ray being empty space
    that carries neither value nor gradient; 0 decodes every sample (the full frame always
    does)."""
    chunk_rays: int | None = None
    """Rays per rendering pass; None: the generator's default (about a thousand on CPU,
    where such passes are fastest; all at once elsewhere). The same result either way."""
    seed: int = 0
    """Seeds the offset's initialisation and every ray draw."""

    def __post_init__(self) -> None:
        for name in ("steps", "context_rays", "ssim_patches", "guard_rays", "rate_pixels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.painted_confidence <= 1:
            raise ValueError(
                f"painted_confidence must lie in (0, 1], got {self.painted_confidence}"
            )
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.dilation < 0:
            raise ValueError(f"dilation must not be negative, got {self.dilation}")
        weights = (
            "overlap_weight",
            "keep_weight",
            "near_keep_weight",
            "mse_weight",
            "ssim_weight",
            "lpips_weight",
            "init_scale",
            "sample_threshold",
        )
        for name in weights:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}"
            )
        if self.layers is not None and (
            not self.layers or len(set(self.layers)) != len(self.layers)
        ):
            raise ValueError(f"layers must be None or distinct ws rows, got {self.layers}")
        if self.chunk_rays is not None and self.chunk_rays < 1:
            raise ValueError(f"chunk_rays must be at least 1 or None, got {self.chunk_rays}")
        if self.lpips_weights is not None and not self.full_frame:
            raise ValueError(
                "LPIPS compares whole images: set full_frame=True to use lpips_weights"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def edit_learning_rate(config: EditConfig, painted: int) -> float:
    """The learning rate of an edit painting `painted` pixels (`EditConfig.max_learning_rate`)."""
    if config.max_learning_rate is None:
        return config.learning_rate
    grown = config.learning_rate * math.sqrt(max(painted, config.rate_pixels) / config.rate_pixels)
    return max(config.learning_rate, min(config.max_learning_rate, grown))


def paper_edit_config(**changes: Any) -> EditConfig:
    """FFaceNeRF's edit (module doc) with this project's preservation terms and fast path;
    `changes` override any setting."""
    paper = {
        "objective": "paper",
        "learning_rate": 0.02,
        "max_learning_rate": None,
        "init_scale": 0.01,
        "guard_yaws": (),
        "optimizer": "adam",
        "ssim_patches": 8,
    }
    return EditConfig(**(paper | changes))
