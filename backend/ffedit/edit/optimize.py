"""`optimize_latent`: FFaceNeRF's mask-driven edit, a W+ offset optimised toward a target mask.

    source ws ──render (edit view)──▶ rgb₀, current labels ──≠ target, dilated──▶ region M
    offset Δ (randn(w_dim)·0.01 on every moving layer) ──Adam(lr 0.02) × 100──▶ edited ws

Every step synthesises the tri-planes of ws + Δ, re-imposes the source's plane mean/std on
the appearance branch (the appearance lock: geometry may change, colour statistics may not),
renders rays with the geometry adapter as the segmentation head, and descends
CE + λ·overlap toward the target plus MSE + SSIM to rgb₀ outside M (`edit.losses`).

Fast path (default): a step renders only the rays of M, a resampled share of the others and a
few SSIM windows (`edit.regions`), not the whole frame, and along each ray decodes colour
and segmentation only at the samples whose compositing weight exceeds `sample_threshold`
(σ everywhere); the gradient reaches Δ through the same backbone either way. The source
and final frames are rendered the same way, so the preservation reference is what an
unchanged latent renders at a step.
`EditConfig(full_frame=True)` renders every pixel each step: the paper's procedure and the
reference twin of the fast path (the losses are the same function of the rays; `ffedit
bench edits` compares target IoU and time of both).

Rendering is deterministic (fixed depth samples, constant backbone noise), so an edit is
reproducible for a seed. The loop reports through `on_step` and stops when `should_stop()`
says so; it never logs, saves or sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from ffedit.edit.config import EditConfig
from ffedit.edit.errors import LpipsWeightsError
from ffedit.edit.losses import EditReference, edit_losses
from ffedit.edit.lpips import LpipsVgg
from ffedit.edit.regions import (
    EditRays,
    edit_region,
    full_frame_rays,
    sampled_rays,
    window_centres,
)
from ffedit.generator import SegHead, TriplaneGenerator
from ffedit.generator.planes import PlaneStatistics, plane_statistics
from ffedit.layouts import InvalidMask

StepCallback = Callable[[int, int, dict[str, float], torch.Tensor], None]
"""on_step(steps done, total steps, losses {'cross_entropy', 'overlap', 'mse', 'ssim',
'lpips', 'total'}, current edited ws (num_ws, w_dim), detached): progress and previews."""
StopCheck = Callable[[], bool]
"""should_stop() → True ends the edit after the current step (the result keeps that step)."""


@dataclass(frozen=True)
class EditResult:
    """The outcome of `optimize_latent`."""

    ws: torch.Tensor
    """(num_ws, w_dim) the edited latent (after the last step's update)."""
    source_ws: torch.Tensor
    """(num_ws, w_dim) the latent the edit started from, bitwise: undo returns to it."""
    plane_stats: PlaneStatistics
    """The appearance lock, mean and std (1, 3·C): render the edited ws with these."""
    masks: torch.Tensor
    """(H, W) int64 predicted labels of the edited ws at the edit view."""
    losses: tuple[dict[str, float], ...]
    """Per step: 'cross_entropy', 'overlap', 'mse', 'ssim', 'lpips', 'total'."""
    steps: int
    """Steps done (fewer than configured when stopped)."""
    cancelled: bool
    """should_stop() ended the edit early."""
    seconds: float
    """Wall-clock time of the whole edit (source and final renders included)."""
    step_seconds: float
    """Wall-clock time of the optimisation steps alone (callbacks included)."""


def initial_offset(num_layers: int, w_dim: int, scale: float, seed: int) -> torch.Tensor:
    """(num_layers, w_dim): one randn(w_dim)·scale vector (seeded) repeated on every layer."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(1, w_dim, generator=generator) * scale).repeat(num_layers, 1)


def moving_layers(layers: tuple[int, ...] | None, num_ws: int) -> list[int]:
    """The ws rows an edit moves: `layers`, or all of them when None."""
    if layers is None:
        return list(range(num_ws))
    outside = [layer for layer in layers if not 0 <= layer < num_ws]
    if outside:
        raise ValueError(f"ws layers {outside} do not exist: this generator has {num_ws}")
    return sorted(layers)


def offset_ws(ws: torch.Tensor, layers: list[int], offset: torch.Tensor) -> torch.Tensor:
    """ws (num_ws, w_dim) with offset (len(layers), w_dim) added to the rows `layers`; the
    other rows are the input's, bitwise."""
    edited = ws.clone()
    edited[layers] = ws[layers] + offset
    return edited


def check_target(
    target: torch.Tensor, resolution: int, num_classes: int | None = None
) -> torch.Tensor:
    """The target as (H, W) int64, or `InvalidMask` saying what size (and, given
    `num_classes`, which ids) were expected."""
    if target.ndim != 2 or tuple(target.shape) != (resolution, resolution):
        got = "×".join(str(side) for side in target.shape)
        raise InvalidMask(
            f"the target mask is {got} pixels; this model edits {resolution}×{resolution} masks "
            "(its neural rendering resolution)"
        )
    if target.dtype.is_floating_point or target.dtype == torch.bool:
        raise InvalidMask(f"a target mask holds integer class ids, got {target.dtype}")
    if num_classes is not None and (int(target.min()) < 0 or int(target.max()) >= num_classes):
        raise InvalidMask(
            f"target class ids must lie in [0, {num_classes - 1}] (the segmentation head's "
            f"{num_classes} classes), got [{int(target.min())}, {int(target.max())}]"
        )
    return target.long()


@contextmanager
def _frozen(*modules: nn.Module | None) -> Iterator[None]:
    """Parameters of the modules do not require gradients inside; flags restored after."""
    parameters = [p for module in modules if module is not None for p in module.parameters()]
    flags = [p.requires_grad for p in parameters]
    try:
        for parameter in parameters:
            parameter.requires_grad_(False)
        yield
    finally:
        for parameter, flag in zip(parameters, flags, strict=True):
            parameter.requires_grad_(flag)


def _step_rays(
    config: EditConfig,
    region: torch.Tensor,
    target: torch.Tensor,
    centres: torch.Tensor,
    full: EditRays | None,
    generator: torch.Generator,
) -> EditRays:
    if full is not None:
        return full
    return sampled_rays(
        region,
        target,
        centres,
        config.context_rays,
        config.ssim_patches,
        generator,
        region_rays=config.region_rays,
    )


def _sample_threshold(config: EditConfig) -> float:
    """The compositing weight below which renders of the edit skip colour and segmentation:
    the fast path's `sample_threshold`, 0 (exact) for the full-frame reference twin."""
    return 0.0 if config.full_frame else config.sample_threshold


def _render_frame(
    generator: TriplaneGenerator,
    adapter: SegHead | None,
    planes: torch.Tensor,
    rays: tuple[torch.Tensor, torch.Tensor],
    plane_stats: PlaneStatistics,
    config: EditConfig,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw RGB (N, 3) and segmentation logits (N, K) of every ray (origins, directions),
    rendered like the steps render theirs (same sample threshold), so the source reference
    and the steps' renders are the same function of the latent."""
    output = generator.render_rays(
        planes,
        *rays,
        plane_stats=plane_stats,
        chunk_rays=config.chunk_rays,
        seg_head=adapter,
        appearance_threshold=_sample_threshold(config),
        defer_segmentation=True,
    )
    return output.features[0, :, :3].contiguous(), output.seg_logits[0]


def _masked_lpips(
    lpips: LpipsVgg, rgb: torch.Tensor, reference: EditReference, resolution: int
) -> torch.Tensor:
    """LPIPS of full-frame raw RGB (N, 3) against the source's, both zeroed inside M."""
    keep = (~reference.region).to(rgb)[:, None]

    def image(values: torch.Tensor) -> torch.Tensor:
        return (values * keep).T.reshape(1, 3, resolution, resolution)

    return lpips(image(rgb), image(reference.source_rgb))[0]


def optimize_latent(
    generator: TriplaneGenerator,
    adapter: SegHead | None,
    ws: torch.Tensor,
    camera: torch.Tensor,
    target_mask: torch.Tensor,
    config: EditConfig | None = None,
    on_step: StepCallback | None = None,
    should_stop: StopCheck | None = None,
    *,
    plane_stats: PlaneStatistics | None = None,
    lpips: LpipsVgg | None = None,
) -> EditResult:
    """Edit ws (num_ws, w_dim) so that its mask at camera (25,) becomes target_mask (H, W).

    adapter: the layout's geometry adapter (None: the generator's own segmentation logits).
    target_mask: class ids of the adapter's layout at the neural rendering resolution
    (`InvalidMask` otherwise). plane_stats: the appearance to lock, mean and std (1, 3·C);
    default: the source ws's own (pass a previous `EditResult.plane_stats` when chaining
    edits, so the appearance stays that of the original face). lpips: the LPIPS network of
    `config.lpips_weights`, loaded by the caller (`ffedit.io.lpips.load_lpips`). See the
    module doc.
    """
    config = config or EditConfig()
    start = time.perf_counter()
    device = ws.device
    resolution = generator.config.neural_rendering_resolution
    check_target(target_mask, resolution)
    layers = moving_layers(config.layers, generator.config.num_ws)
    if config.lpips_weights and lpips is None:
        raise LpipsWeightsError(
            f"the edit names LPIPS weights ({config.lpips_weights}): load them with "
            "ffedit.io.lpips.load_lpips and pass the network as `lpips`"
        )
    lpips = lpips.to(device) if config.lpips_weights else None
    source_ws = ws.detach().clone()
    cameras = camera.reshape(1, -1).to(device)
    with _frozen(generator, adapter if isinstance(adapter, nn.Module) else None):
        with torch.no_grad():
            source_planes = generator.synthesize_planes(source_ws[None])
            if plane_stats is None:
                plane_stats = plane_statistics(source_planes)
            origins, directions = generator.camera_rays(cameras, 1, resolution, source_planes)
            source_rgb, source_logits = _render_frame(
                generator, adapter, source_planes, (origins, directions), plane_stats, config
            )
        target = check_target(target_mask, resolution, source_logits.shape[-1]).to(device)
        target_cpu = target.cpu()
        current = source_logits.argmax(-1).reshape(resolution, resolution).cpu()
        region = edit_region(current, target_cpu, config.dilation)
        centres = window_centres(region)
        reference = EditReference(target.reshape(-1), source_rgb, region.reshape(-1).to(device))
        full = full_frame_rays(centres) if config.full_frame else None
        offset = initial_offset(len(layers), ws.shape[-1], config.init_scale, config.seed)
        offset = offset.to(device=device, dtype=ws.dtype).requires_grad_(True)
        optimizer = torch.optim.Adam([offset], lr=config.learning_rate)
        draws = torch.Generator().manual_seed(config.seed)
        history: list[dict[str, float]] = []
        cancelled = False
        loop_start = time.perf_counter()
        for step in range(config.steps):
            rays = _step_rays(config, region, target_cpu, centres, full, draws)
            pixels = rays.pixels.to(device)
            planes = generator.synthesize_planes(offset_ws(source_ws, layers, offset)[None])
            output = generator.render_rays(
                planes,
                origins[:, pixels],
                directions[:, pixels],
                plane_stats=plane_stats,
                chunk_rays=config.chunk_rays,
                seg_head=adapter,
                appearance_threshold=_sample_threshold(config),
                defer_segmentation=True,
            )
            rgb, logits = output.features[0, :, :3], output.seg_logits[0]
            distance = None if lpips is None else _masked_lpips(lpips, rgb, reference, resolution)
            losses = edit_losses(rgb, logits, rays, reference, config, distance)
            (gradient,) = torch.autograd.grad(losses.total, [offset])
            offset.grad = gradient
            optimizer.step()
            history.append(losses.as_floats())
            if on_step is not None:
                current = offset_ws(source_ws, layers, offset.detach())
                on_step(step + 1, config.steps, history[-1], current)
            if should_stop is not None and should_stop():
                cancelled = True
                break
        step_seconds = time.perf_counter() - loop_start
        edited = offset_ws(source_ws, layers, offset.detach())
        with torch.no_grad():
            _, final_logits = _render_frame(
                generator,
                adapter,
                generator.synthesize_planes(edited[None]),
                (origins, directions),
                plane_stats,
                config,
            )
    return EditResult(
        ws=edited,
        source_ws=source_ws,
        plane_stats=PlaneStatistics(*plane_stats),
        masks=final_logits.argmax(-1).reshape(resolution, resolution),
        losses=tuple(history),
        steps=len(history),
        cancelled=cancelled,
        seconds=time.perf_counter() - start,
        step_seconds=step_seconds,
    )
