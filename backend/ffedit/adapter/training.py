"""`fit_adapter`: train a geometry adapter for a layout on a few annotated samples.

The method (FFaceNeRF §4): only the adapter trains; Adam with a OneCycle schedule (max lr
0.01, PyTorch defaults); loss CE + λ·overlap on composited logits, the overlap term from
`overlap_start_step` on; each batch latent-mixed (LMTA) with probability p, one random z per
batch. Two trainers compute the same loss on the same model:

- **full** (the paper's procedure): every step synthesises the batch's tri-planes (backbone
  noise `config.backbone_noise`: constant as the app renders, or random as the reference
  does with EG3D) and renders whole images with stochastic ray samples and the adapter as the
  generator's seg head. Each chunk of rays is recomputed in the backward pass (activation
  checkpointing), which bounds memory without changing any gradient.
- **fast**: the generator is frozen, so each sample's adapter inputs along its rays are
  cached once (`adapter.cache`: deterministic samples, the `points_per_ray` heaviest kept),
  for a class-stratified pool of `pool_rays` rays per sample. LMTA draws from `lmta_pool`
  random mixing latents fixed up front, each cached for every sample (planes re-synthesised
  and rays re-sampled, so density and features follow the mixing). A step draws
  `rays_per_sample` class-stratified rays per sample; pixel weights make CE and Dice sums
  estimates of the whole-image sums (`adapter.rays`, `adapter.losses`).

Both are deterministic for a seed: the adapter's initialisation and every random choice come
from `config.seed` (the global RNG is forked, so callers' RNG state is untouched).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch.utils.checkpoint import checkpoint

from ffedit.adapter.augment import mix_appearance_ws, random_mixing_ws
from ffedit.adapter.cache import cache_rays, cached_inputs, cached_logits
from ffedit.adapter.config import AdapterTrainingConfig
from ffedit.adapter.errors import TooFewSamples
from ffedit.adapter.geometry import geometry_sampler
from ffedit.adapter.losses import SegmentationLosses, segmentation_losses
from ffedit.adapter.network import GeometryAdapter
from ffedit.adapter.rays import stratified_rays
from ffedit.generator import TriplaneGenerator
from ffedit.layouts import InvalidMask, Layout
from ffedit.render import RaySamplingSettings, render_rays

MIN_SAMPLES = 1
"""Samples `fit_adapter` needs at least (FFaceNeRF uses 10)."""
FINAL_LOSS_FRACTION = 0.1
"""`AdapterFit.final_losses` averages this last share of the steps."""


class LayoutSample(NamedTuple):
    """One annotated view of one face."""

    ws: torch.Tensor
    """(num_ws, w_dim) the face's latent."""
    camera: torch.Tensor
    """(25,) the view's camera vector."""
    labels: torch.Tensor
    """(H, W) int64 class ids at the generator's neural rendering resolution."""


StepCallback = Callable[[int, int, dict[str, float], GeometryAdapter], None]
"""on_step(steps done, total steps, losses {'cross_entropy', 'overlap', 'total', 'lr'},
adapter): progress; the adapter may be used (without gradients) for a preview."""
StopCheck = Callable[[], bool]
"""should_stop() → True cancels training after the current step."""
PrepareCallback = Callable[[int, int], None]
"""on_prepare(variants cached, total variants): the fast trainer's progress while it caches
each latent variant (the unmixed latents, then each LMTA mixing latent) before step 1."""


class PoolCheck(NamedTuple):
    """The fast trainer's own check of a fit: the trained adapter's class ids on each
    sample's pool rays (the unmixed latents' cache), the painted ones, and the pixels each
    ray stands for; all (N, P)."""

    predicted: torch.Tensor
    painted: torch.Tensor
    pixel_weights: torch.Tensor


@dataclass(frozen=True)
class AdapterFit:
    """The result of `fit_adapter`."""

    adapter: GeometryAdapter
    """The trained adapter (eval mode, gradients off)."""
    steps: int
    """Steps done (fewer than configured when cancelled)."""
    cancelled: bool
    """should_stop() ended training early."""
    seconds: float
    """Wall-clock time of the whole fit (caching included)."""
    final_losses: dict[str, float]
    """Mean losses over the last tenth of the steps done."""
    loss_history: tuple[float, ...]
    """Total loss of every step."""
    kept_weight: float | None
    """fast: share of the compositing weight kept in the cache (None for the full trainer)."""
    pool_check: PoolCheck | None = None
    """fast: the trained adapter on the samples' pool rays (None for the full trainer or a
    cancelled fit)."""


def check_samples(generator: TriplaneGenerator, samples: list[LayoutSample], layout: Layout):
    """Raise `TooFewSamples` or `InvalidMask` (size, class ids) or ValueError (ws, camera)."""
    if len(samples) < MIN_SAMPLES:
        raise TooFewSamples(
            f"training layout {layout.name!r} needs at least {MIN_SAMPLES} annotated sample(s) "
            f"(10 recommended); found {len(samples)}"
        )
    config = generator.config
    size = config.neural_rendering_resolution
    for index, sample in enumerate(samples):
        if tuple(sample.labels.shape) != (size, size):
            raise InvalidMask(
                f"sample {index}: masks must be {size}×{size} (the model's mask resolution); "
                f"got {'×'.join(map(str, sample.labels.shape))}"
            )
        if sample.labels.min() < 0 or sample.labels.max() >= layout.num_classes:
            raise InvalidMask(
                f"sample {index}: class ids must lie in [0, {layout.num_classes - 1}] for layout "
                f"{layout.name!r}; got [{int(sample.labels.min())}, {int(sample.labels.max())}]"
            )
        if tuple(sample.ws.shape) != (config.num_ws, config.w_dim):
            raise ValueError(
                f"sample {index}: ws must be ({config.num_ws}, {config.w_dim}), "
                f"got {tuple(sample.ws.shape)}"
            )
        if tuple(sample.camera.shape) != (25,):
            raise ValueError(
                f"sample {index}: camera must be (25,), got {tuple(sample.camera.shape)}"
            )


def sampling_settings(
    generator: TriplaneGenerator, samples_per_ray: tuple[int, int] | None
) -> RaySamplingSettings:
    """The generator's ray sampling, with (coarse, importance) counts replaced if given."""
    settings = generator.sampling_settings
    if samples_per_ray is None:
        return settings
    coarse, importance = samples_per_ray
    return settings._replace(num_coarse=coarse, num_importance=importance)


def one_cycle_schedule(
    optimizer: torch.optim.Optimizer, max_lr: float, total_steps: int
) -> torch.optim.lr_scheduler.OneCycleLR:
    """PyTorch's OneCycle with its defaults (pct_start 0.3, div 25, final div 1e4, cosine,
    beta1 cycling 0.95 → 0.85 → 0.95), sized for `total_steps` optimizer steps."""
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=max(total_steps, 2)
    )


def epoch_batches(
    num_samples: int, batch_size: int, generator: torch.Generator
) -> Iterator[torch.Tensor]:
    """Sample indices in shuffled epochs of batches of `batch_size` (last one of an epoch
    smaller), forever — as a shuffled DataLoader without drop_last."""
    while True:
        yield from torch.randperm(num_samples, generator=generator).split(batch_size)


class _FastData(NamedTuple):
    """Every sample's cache, for the unmixed latents (variant 0) and each mixing latent."""

    inputs: torch.Tensor
    """(V, N, P, M, in) the adapter's first-layer inputs (`cached_inputs`)."""
    point_weights: torch.Tensor
    """(V, N, P, M)."""
    labels: torch.Tensor
    """(N, P) int64."""
    pixel_weights: torch.Tensor
    """(N, P) image pixels each pool ray stands for."""
    kept_weight: float


def _stack_ws(samples: list[LayoutSample], device: torch.device) -> torch.Tensor:
    return torch.stack([sample.ws for sample in samples]).to(device, torch.float32)


def _mixing_ws(
    generator: TriplaneGenerator, ws: torch.Tensor, layers: tuple[int, ...], rng: torch.Generator
) -> torch.Tensor:
    """ws (B, num_ws, w_dim) latent-mixed with one random z drawn from `rng`."""
    z = torch.randn(1, generator.config.z_dim, generator=rng).to(ws.device)
    return mix_appearance_ws(ws, random_mixing_ws(generator, z), layers)


def _cached_variant(
    generator: TriplaneGenerator,
    adapter: GeometryAdapter,
    ws: torch.Tensor,
    rays: list[tuple[torch.Tensor, torch.Tensor]],
    settings: RaySamplingSettings,
    points_per_ray: int | None,
) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """Adapter inputs (N, P, M, in) and point weights (N, P, M) along each sample's pool rays
    for latents ws (N, num_ws, w_dim), with the kept and total compositing weight."""
    inputs, weights, kept, total = [], [], 0.0, 0.0
    for sample_ws, (origins, directions) in zip(ws.split(1), rays, strict=True):
        planes = generator.synthesize_planes(sample_ws)
        cache = cache_rays(generator, planes, origins, directions, settings, points_per_ray)
        inputs.append(cached_inputs(adapter, cache))
        weights.append(cache.point_weights)
        kept += float(cache.point_weights.sum())
        total += float(cache.total_weight.sum())
    return torch.stack(inputs), torch.stack(weights), kept, total


def _fast_data(
    generator: TriplaneGenerator,
    adapter: GeometryAdapter,
    samples: list[LayoutSample],
    config: AdapterTrainingConfig,
    layers: tuple[int, ...],
    rng: torch.Generator,
    on_prepare: PrepareCallback | None,
) -> _FastData:
    device = generator.device
    settings = sampling_settings(generator, config.samples_per_ray)
    resolution = generator.config.neural_rendering_resolution
    ws = _stack_ws(samples, device)
    pools, rays = [], []
    for sample in samples:
        pool = stratified_rays(sample.labels.reshape(-1).to(device), config.pool_rays, rng)
        origins, directions = generator.camera_rays(sample.camera[None], 1, resolution, ws)
        pools.append(pool)
        rays.append((origins[0, pool.indices], directions[0, pool.indices]))
    mixing = config.lmta_pool if config.lmta_probability > 0 else 0
    variants = [ws] + [_mixing_ws(generator, ws, layers, rng) for _ in range(mixing)]
    cached = []
    for variant_ws in variants:
        with torch.no_grad():
            cached.append(
                _cached_variant(
                    generator, adapter, variant_ws, rays, settings, config.points_per_ray
                )
            )
        if on_prepare is not None:
            on_prepare(len(cached), len(variants))
    kept, total = cached[0][2:]
    return _FastData(
        inputs=torch.stack([inputs for inputs, *_ in cached]),
        point_weights=torch.stack([weights for _, weights, *_ in cached]),
        labels=torch.stack(
            [
                s.labels.reshape(-1).to(device)[p.indices]
                for s, p in zip(samples, pools, strict=True)
            ]
        ),
        pixel_weights=torch.stack([p.pixel_weights for p in pools]),
        kept_weight=kept / total if total > 0 else 1.0,
    )


def _fast_step(
    data: _FastData,
    adapter: GeometryAdapter,
    batch: torch.Tensor,
    augmented: bool,
    overlap_weight: float,
    config: AdapterTrainingConfig,
    rng: torch.Generator,
) -> SegmentationLosses:
    variants = data.point_weights.shape[0]
    variant = 0
    if augmented and variants > 1:
        variant = 1 + int(torch.randint(variants - 1, (1,), generator=rng))
    selections = [
        stratified_rays(data.labels[i], config.rays_per_sample, rng, data.pixel_weights[i])
        for i in batch.tolist()
    ]
    rows = batch.to(data.labels.device)[:, None]
    indices = torch.stack([selection.indices for selection in selections])  # (B, R)
    logits = cached_logits(
        adapter, data.inputs[variant][rows, indices], data.point_weights[variant][rows, indices]
    )
    pixel_weights = torch.stack([selection.pixel_weights for selection in selections])
    return segmentation_losses(logits, data.labels[rows, indices], overlap_weight, pixel_weights)


def render_adapter_logits(
    generator: TriplaneGenerator,
    adapter: GeometryAdapter,
    planes: torch.Tensor,
    cameras: torch.Tensor,
    settings: RaySamplingSettings,
    *,
    deterministic: bool,
    chunk_rays: int,
) -> torch.Tensor:
    """Composited adapter logits (B, R, K), R = H·W, of planes (B, 3, C, H', W') seen from
    cameras (B, 25), with gradients for the adapter only. Each chunk of rays is recomputed in
    the backward pass (its random samples replayed), so memory stays bounded."""
    resolution = generator.config.neural_rendering_resolution
    origins, directions = generator.camera_rays(cameras, len(planes), resolution, planes)

    with torch.no_grad():
        geometry = geometry_sampler(generator, planes)

    def field(points: torch.Tensor, dirs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            features, geo_output = geometry(points)
        return geo_output[..., :1], adapter(features, geo_output, dirs, points)

    def chunk_logits(chunk_origins: torch.Tensor, chunk_directions: torch.Tensor) -> torch.Tensor:
        rendered = render_rays(
            field, chunk_origins, chunk_directions, settings, deterministic=deterministic
        )
        return rendered.values

    parts = [
        checkpoint(
            chunk_logits,
            origins[:, start : start + chunk_rays],
            directions[:, start : start + chunk_rays],
            use_reentrant=False,
        )
        for start in range(0, origins.shape[1], chunk_rays)
    ]
    return torch.cat(parts, dim=1)


def _full_step(
    generator: TriplaneGenerator,
    adapter: GeometryAdapter,
    samples: list[LayoutSample],
    batch: torch.Tensor,
    augmented: bool,
    overlap_weight: float,
    config: AdapterTrainingConfig,
    layers: tuple[int, ...],
    rng: torch.Generator,
) -> SegmentationLosses:
    chosen = [samples[i] for i in batch.tolist()]
    device = generator.device
    ws = _stack_ws(chosen, device)
    if augmented:
        ws = _mixing_ws(generator, ws, layers, rng)
    with torch.no_grad():
        planes = generator.synthesize_planes(ws, noise_mode=config.backbone_noise)
    cameras = torch.stack([sample.camera for sample in chosen]).to(device)
    logits = render_adapter_logits(
        generator,
        adapter,
        planes,
        cameras,
        sampling_settings(generator, config.samples_per_ray),
        deterministic=False,
        chunk_rays=config.chunk_rays,
    )
    labels = torch.stack([sample.labels.reshape(-1) for sample in chosen]).to(device)
    return segmentation_losses(logits, labels, overlap_weight)


def fit_adapter(
    generator: TriplaneGenerator,
    samples: list[LayoutSample],
    layout: Layout,
    config: AdapterTrainingConfig,
    on_step: StepCallback | None = None,
    should_stop: StopCheck | None = None,
    on_prepare: PrepareCallback | None = None,
) -> AdapterFit:
    """Train a `GeometryAdapter` with `layout.num_classes` outputs on annotated samples.

    The generator is only read (its weights, `w_avg` and gradients stay as they are). Raises
    `TooFewSamples`, `InvalidMask` for masks of the wrong size or class ids, ValueError for
    malformed ws or cameras. `on_prepare` follows the fast trainer's caching before step 1
    (the full trainer has none); the callbacks do not change the result.
    """
    check_samples(generator, samples, layout)
    start = time.perf_counter()
    device = generator.device
    layers = config.lmta_layers or generator.config.appearance_ws
    forked = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=forked, device_type=device.type):
        torch.manual_seed(config.seed)
        rng = torch.Generator().manual_seed(config.seed)
        adapter = GeometryAdapter.for_generator(
            generator.config, layout.num_classes, variant=config.variant, hidden=config.hidden
        ).to(device)
        data = (
            _fast_data(generator, adapter, samples, config, layers, rng, on_prepare)
            if config.trainer == "fast"
            else None
        )
        optimizer = torch.optim.Adam(adapter.parameters(), lr=config.max_lr)
        schedule = one_cycle_schedule(optimizer, config.max_lr, config.steps)
        batches = epoch_batches(len(samples), config.batch_size, rng)
        history: list[dict[str, float]] = []
        cancelled = False
        for step in range(config.steps):
            if should_stop is not None and should_stop():
                cancelled = True
                break
            batch = next(batches)
            augmented = bool(torch.rand((), generator=rng) < config.lmta_probability)
            overlap_weight = config.overlap_weight if step >= config.overlap_start_step else 0.0
            if data is not None:
                losses = _fast_step(data, adapter, batch, augmented, overlap_weight, config, rng)
            else:
                losses = _full_step(
                    generator,
                    adapter,
                    samples,
                    batch,
                    augmented,
                    overlap_weight,
                    config,
                    layers,
                    rng,
                )
            optimizer.zero_grad(set_to_none=True)
            losses.total.backward()
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            schedule.step()
            values = {name: float(value.detach()) for name, value in losses._asdict().items()}
            history.append({**values, "lr": lr})
            if on_step is not None:
                on_step(step + 1, config.steps, history[-1], adapter)
    adapter.eval().requires_grad_(False)
    tail = history[-max(1, round(len(history) * FINAL_LOSS_FRACTION)) :]
    final = {name: sum(h[name] for h in tail) / len(tail) for name in tail[0]} if tail else {}
    return AdapterFit(
        adapter=adapter,
        steps=len(history),
        cancelled=cancelled,
        seconds=time.perf_counter() - start,
        final_losses=final,
        loss_history=tuple(h["total"] for h in history),
        kept_weight=data.kept_weight if data is not None else None,
        pool_check=None if data is None or cancelled else _pool_check(data, adapter),
    )


def _pool_check(data: _FastData, adapter: GeometryAdapter) -> PoolCheck:
    with torch.no_grad():
        logits = cached_logits(adapter, data.inputs[0], data.point_weights[0])
    return PoolCheck(logits.argmax(-1).cpu(), data.labels.cpu(), data.pixel_weights.cpu())
