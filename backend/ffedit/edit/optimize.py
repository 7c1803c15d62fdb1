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
reference is rendered the same way, so it is what an unchanged latent renders at a step;
the labels that decide what was painted, and the result's mask, come from exact renders (no
threshold), as the app's masks do: a target equal to the mask the user saw is never an edit.
`EditConfig(full_frame=True)` renders every pixel each step: the paper's procedure and the
reference twin of the fast path (the losses are the same function of the rays; `ffedit
bench edits` compares target IoU and time of both).

Rendering is deterministic (fixed depth samples, constant backbone noise), so an edit is
reproducible for a seed. The loop reports through `on_step` and stops when `should_stop()`
says so; it never logs, saves or sleeps.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from ffedit.camera import turned_camera
from ffedit.edit.config import EditConfig, edit_learning_rate
from ffedit.edit.errors import LpipsWeightsError, NothingToEdit
from ffedit.edit.guards import (
    GUARD_MARGIN,
    GuardRays,
    GuardView,
    all_guard_rays,
    draw_guard_rays,
    free_region,
    painted_points,
)
from ffedit.edit.isotropic import IsotropicAdam
from ffedit.edit.losses import EditReference, edit_losses, guard_losses
from ffedit.edit.lpips import LpipsVgg
from ffedit.edit.regions import (
    EditRays,
    dilate,
    edge_strata,
    edit_region,
    full_frame_rays,
    label_edges,
    sampled_rays,
    window_centres,
)
from ffedit.generator import RayOutput, SegHead, TriplaneGenerator
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
    outcome: EditOutcome
    """How much of what was painted the result reached, and what else changed."""


class EditOutcome(NamedTuple):
    """The result's mask at the edit view against the target and the source's mask."""

    painted: int
    """Pixels whose target differs from the source's prediction."""
    reached: int
    """Painted pixels that now have their painted class."""
    changed_elsewhere: int
    """Pixels outside the painted ones, dilated by `EditConfig.dilation`, whose class changed."""

    def as_dict(self) -> dict[str, int]:
        return self._asdict()


def edit_outcome(
    source: torch.Tensor, target: torch.Tensor, result: torch.Tensor, dilation: int
) -> EditOutcome:
    """`EditOutcome` of label maps (H, W): the source's prediction, the target, the result's."""
    painted = target != source
    elsewhere = ~dilate(painted, dilation)
    return EditOutcome(
        int(painted.sum()),
        int((painted & (result == target)).sum()),
        int((elsewhere & (result != source)).sum()),
    )


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
def frozen(*modules: nn.Module | None) -> Iterator[None]:
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


def _optimizer(config: EditConfig, offset: torch.Tensor, painted: int) -> torch.optim.Optimizer:
    """The optimiser of `config.optimizer` over the offset of an edit painting `painted`
    pixels."""
    rate = edit_learning_rate(config, painted)
    if config.optimizer == "adam":
        return torch.optim.Adam([offset], lr=rate)
    return IsotropicAdam([offset], lr=rate)


def _step_rays(
    config: EditConfig,
    region: torch.Tensor,
    target: torch.Tensor,
    centres: torch.Tensor,
    full: EditRays | None,
    generator: torch.Generator,
    strata: torch.Tensor,
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
        strata=strata,
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
) -> RayOutput:
    """Every ray (origins, directions) rendered like the steps render theirs (same sample
    threshold), so the source reference and the steps' renders are the same function of the
    latent."""
    return generator.render_rays(
        planes,
        *rays,
        plane_stats=plane_stats,
        chunk_rays=config.chunk_rays,
        seg_head=adapter,
        appearance_threshold=_sample_threshold(config),
        defer_segmentation=True,
    )


def _exact_labels(
    generator: TriplaneGenerator,
    adapter: SegHead | None,
    planes: torch.Tensor,
    rays: tuple[torch.Tensor, torch.Tensor],
    plane_stats: PlaneStatistics,
    config: EditConfig,
) -> torch.Tensor:
    """(N,) predicted labels of every ray rendered exactly (no sample threshold), as the app
    predicts masks: what a user painted on and sees after the edit."""
    exact = dataclasses.replace(config, full_frame=True)
    render = _render_frame(generator, adapter, planes, rays, plane_stats, exact)
    return _rgb_and_logits(render)[1].argmax(-1)


def _rgb_and_logits(output: RayOutput) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw RGB (N, 3) and segmentation logits (N, K) of a one-face render."""
    return output.features[0, :, :3].contiguous(), output.seg_logits[0]


def _guard_views(
    generator: TriplaneGenerator,
    adapter: SegHead | None,
    planes: torch.Tensor,
    camera: torch.Tensor,
    source: RayOutput,
    rays: tuple[torch.Tensor, torch.Tensor],
    painted: torch.Tensor,
    plane_stats: PlaneStatistics,
    config: EditConfig,
) -> list[GuardView]:
    """The guard views of an edit at camera (25,) (`ffedit.edit.guards`): the source render
    `source` of the edit view's rays (origins, directions), painted (N,) bool."""
    if not config.guard_yaws or not painted.any():
        return []
    resolution = generator.config.neural_rendering_resolution
    where = painted.to(source.depth.device)
    points = painted_points(
        rays[0][0, where], rays[1][0, where], source.depth[0, where, 0], source.opacity[0, where, 0]
    )
    views = []
    for yaw in config.guard_yaws:
        turned = turned_camera(camera.cpu(), yaw).to(camera)
        origins, directions = generator.camera_rays(turned[None], 1, resolution, planes)
        render = _render_frame(
            generator, adapter, planes, (origins, directions), plane_stats, config
        )
        rgb, logits = _rgb_and_logits(render)
        labels = logits.argmax(-1).cpu()
        edges = label_edges(labels.reshape(resolution, resolution)).reshape(-1)
        free = free_region(points, turned, resolution, config.dilation + GUARD_MARGIN)
        free = free.reshape(-1)
        strata = 2 * edge_strata(labels, edges) + free.long()
        views.append(
            GuardView(origins, directions, rgb, logits.log_softmax(-1), strata, free.to(rgb.device))
        )
    return views


def _guard_step_rays(
    views: list[GuardView], config: EditConfig, generator: torch.Generator
) -> list[GuardRays]:
    if config.full_frame:
        return [all_guard_rays(view) for view in views]
    return [draw_guard_rays(view, config.guard_rays, generator) for view in views]


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
    with frozen(generator, adapter if isinstance(adapter, nn.Module) else None):
        with torch.no_grad():
            source_planes = generator.synthesize_planes(source_ws[None])
            if plane_stats is None:
                plane_stats = plane_statistics(source_planes)
            origins, directions = generator.camera_rays(cameras, 1, resolution, source_planes)
            source = _render_frame(
                generator, adapter, source_planes, (origins, directions), plane_stats, config
            )
            source_rgb, source_logits = _rgb_and_logits(source)
            current = _exact_labels(
                generator, adapter, source_planes, (origins, directions), plane_stats, config
            )
        target = check_target(target_mask, resolution, source_logits.shape[-1]).to(device)
        target_cpu = target.cpu()
        current = current.reshape(resolution, resolution).cpu()
        painted = (current != target_cpu).reshape(-1)
        if not painted.any():
            raise NothingToEdit()
        with torch.no_grad():
            guards = _guard_views(
                generator,
                adapter,
                source_planes,
                cameras[0],
                source,
                (origins, directions),
                painted,
                plane_stats,
                config,
            )
        painted_count = int(painted.sum())
        region = edit_region(current, target_cpu, config.dilation)
        strata = edge_strata(target_cpu, label_edges(current))
        centres = window_centres(region)
        reference = EditReference(
            target.reshape(-1),
            source_rgb,
            region.reshape(-1).to(device),
            painted.to(device),
            source_logits.log_softmax(-1),
        )
        full = full_frame_rays(centres) if config.full_frame else None
        offset = initial_offset(len(layers), ws.shape[-1], config.init_scale, config.seed)
        offset = offset.to(device=device, dtype=ws.dtype).requires_grad_(True)
        optimizer = _optimizer(config, offset, painted_count)
        draws = torch.Generator().manual_seed(config.seed)
        history: list[dict[str, float]] = []
        cancelled = False
        loop_start = time.perf_counter()
        for step in range(config.steps):
            rays = _step_rays(config, region, target_cpu, centres, full, draws, strata)
            guard_rays = _guard_step_rays(guards, config, draws)
            pixels = rays.pixels.to(device)
            step_origins = [origins[:, pixels]]
            step_directions = [directions[:, pixels]]
            for view, drawn in zip(guards, guard_rays, strict=True):
                step_origins.append(view.origins[:, drawn.pixels.to(device)])
                step_directions.append(view.directions[:, drawn.pixels.to(device)])
            planes = generator.synthesize_planes(offset_ws(source_ws, layers, offset)[None])
            output = generator.render_rays(
                planes,
                torch.cat(step_origins, dim=1),
                torch.cat(step_directions, dim=1),
                plane_stats=plane_stats,
                chunk_rays=config.chunk_rays,
                seg_head=adapter,
                appearance_threshold=_sample_threshold(config),
                defer_segmentation=True,
            )
            counts = [len(pixels), *(len(drawn.pixels) for drawn in guard_rays)]
            rgb_parts = output.features[0, :, :3].split(counts)
            logit_parts = output.seg_logits[0].split(counts)
            rgb, logits = rgb_parts[0], logit_parts[0]
            guard = None
            for view, drawn, view_rgb, view_logits in zip(
                guards, guard_rays, rgb_parts[1:], logit_parts[1:], strict=True
            ):
                term = guard_losses(view_rgb, view_logits, drawn, view, config, painted_count)
                guard = term if guard is None else guard + term
            distance = None if lpips is None else _masked_lpips(lpips, rgb, reference, resolution)
            losses = edit_losses(rgb, logits, rays, reference, config, distance, guard)
            (gradient,) = torch.autograd.grad(losses.total, [offset])
            offset.grad = gradient
            optimizer.step()
            history.append(losses.as_floats())
            if on_step is not None:
                moving = offset_ws(source_ws, layers, offset.detach())
                on_step(step + 1, config.steps, history[-1], moving)
            if should_stop is not None and should_stop():
                cancelled = True
                break
        step_seconds = time.perf_counter() - loop_start
        edited = offset_ws(source_ws, layers, offset.detach())
        with torch.no_grad():
            final_labels = _exact_labels(
                generator,
                adapter,
                generator.synthesize_planes(edited[None]),
                (origins, directions),
                plane_stats,
                config,
            )
    masks = final_labels.reshape(resolution, resolution)
    return EditResult(
        ws=edited,
        source_ws=source_ws,
        plane_stats=PlaneStatistics(*plane_stats),
        masks=masks,
        losses=tuple(history),
        steps=len(history),
        cancelled=cancelled,
        seconds=time.perf_counter() - start,
        step_seconds=step_seconds,
        outcome=edit_outcome(current, target_cpu, masks.cpu(), config.dilation),
    )
