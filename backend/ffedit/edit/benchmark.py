"""`ffedit bench edits`: mask-driven edits against synthface's exact edits (benchmarks.md §3).

For each edit case (an operator, an amount, the custom layout that has the classes it
touches) and held-out face: the target is the teacher's edited face's mask at the front view
in that layout; the edit starts from the generator's ws of the unedited face and sees only
that mask. Measured per edit:

- target fidelity: IoU at the front view of the touched classes (per image, the mean over
  those present, as the reference mIoU), before and after the edit;
- 3D consistency: the same IoU at the left and right views against the teacher's edited
  masks, which the optimisation never sees;
- preservation: PSNR of the raw RGB against the unedited render, outside the region the edit
  changes (pixels where the teacher's edited and unedited masks differ, dilated like the
  edit's own region), at all three views;
- wall-clock seconds of `optimize_latent` (source and final renders included).

Variants: the fast path with each overlap weight λ, and the full-frame twin (λ of the first)
on the first few faces, so that target IoU and time of both can be compared on the same
edits. Ground truth comes in as fine-label maps (`TeacherViews`), so this module needs no
synthface import.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from ffedit.camera import named_camera
from ffedit.edit.config import EditConfig
from ffedit.edit.optimize import EditResult, optimize_latent
from ffedit.edit.regions import dilate
from ffedit.generator import SegHead, TriplaneGenerator, uint8_image
from ffedit.generator.planes import PlaneStatistics, plane_statistics
from ffedit.layouts import Layout, colors_from_labels, labels_from_fine
from ffedit.layouts.metrics import image_ious, iou_table

VIEWS = ("front", "left", "right")
"""Measured views; the edit is painted at the first."""
SECTION_TITLE = "Mask-driven edits"
PSNR_CAP = 100.0
"""PSNR reported for identical images (dB)."""
SHEET_GAP = 2
SHEET_GAP_COLOR = (40, 40, 40)


@dataclass(frozen=True)
class EditCase:
    """One benchmarked edit."""

    operator: str
    """synthface edit operator."""
    amount: float
    """Operator steps applied (sized so that the edit changes tens of pixels at 128²)."""
    layout: str
    """The custom layout whose classes show the edit."""


EDIT_CASES: tuple[EditCase, ...] = (
    EditCase("eyes.scale", 2.0, "eyes19"),
    EditCase("pupil.scale", 3.0, "eyes19"),
    EditCase("nose.width", 2.0, "nose19"),
    EditCase("ala.width", 2.0, "base17"),
    EditCase("chin.length", 2.0, "chin20"),
    EditCase("mouth.open", 1.5, "chin20"),
)
"""The default cases: benchmarks.md §3's operators in the layouts holding their classes."""


@dataclass(frozen=True)
class Variant:
    """How an edit is run."""

    overlap_weight: float
    full_frame: bool

    @property
    def name(self) -> str:
        return f"{'full frame' if self.full_frame else 'fast'}, λ={self.overlap_weight:g}"


def variants(lambdas: list[float], full_frame_lambda: float | None) -> list[Variant]:
    """The fast path at every λ, then the full frame at `full_frame_lambda` (if not None)."""
    fast = [Variant(weight, False) for weight in lambdas]
    return fast + ([] if full_frame_lambda is None else [Variant(full_frame_lambda, True)])


class TeacherViews(NamedTuple):
    """The teacher's fine labels (V, H, W) of one face at `VIEWS`, before and after the edit."""

    source: torch.Tensor
    edited: torch.Tensor


class EditMeasure(NamedTuple):
    """Figures of one edit and the pictures of its contact-sheet row."""

    figures: dict[str, Any]
    row: list[np.ndarray]
    """(H, W, 3) uint8 tiles: target mask, RGB before at each view, after, mask after."""


def _views_render(
    generator: TriplaneGenerator,
    adapter: SegHead,
    ws: torch.Tensor,
    plane_stats: PlaneStatistics,
    cameras: torch.Tensor,
    chunk_rays: int | None,
):
    views = len(cameras)
    with torch.no_grad():
        planes = generator.synthesize_planes(ws[None])
        return generator.render(
            ws[None].expand(views, -1, -1),
            cameras,
            planes=planes.expand(views, -1, -1, -1, -1),
            plane_stats=plane_stats,
            super_resolve=False,
            chunk_rays=chunk_rays,
            seg_head=adapter,
        )


def touched_iou(predicted: torch.Tensor, target: torch.Tensor, classes: tuple[int, ...], k: int):
    """Per view (V,) IoU of label maps (V, H, W) over `classes` present (NaN if none is)."""
    return image_ious(iou_table(predicted, target, k), list(classes))


def psnr_outside(a: torch.Tensor, b: torch.Tensor, outside: torch.Tensor) -> torch.Tensor:
    """(V,) PSNR (dB, range 2) of raw RGB (V, 3, H, W) over pixels where outside (V, H, W)."""
    keep = outside[:, None].to(a)
    squared = ((a - b).square() * keep).sum(dim=(1, 2, 3))
    mse = squared / (3 * keep.sum(dim=(1, 2, 3))).clamp_min(1)
    return (10 * torch.log10(4 / mse.clamp_min(4 * 10 ** (-PSNR_CAP / 10)))).clamp(max=PSNR_CAP)


def measure_edit(
    generator: TriplaneGenerator,
    adapter: SegHead,
    layout: Layout,
    touched: tuple[int, ...],
    ws: torch.Tensor,
    teacher: TeacherViews,
    config: EditConfig,
    chunk_rays: int | None = None,
    paint_on_prediction: bool = False,
) -> EditMeasure:
    """Run one edit of ws (num_ws, w_dim) toward the teacher's edited front mask; measure it.

    paint_on_prediction: the target is the model's own front mask with the pixels the edit
    changes (teacher's edited ≠ unedited) painted in the teacher's edited labels, as a user
    would repaint a mask. With an untrained model this keeps the edit region at a realistic
    size (for timing); with a trained one both targets nearly agree.
    """
    device = ws.device
    cameras = torch.stack([named_camera(view) for view in VIEWS]).to(device)
    source_labels = labels_from_fine(teacher.source, layout).to(device)
    edited_labels = labels_from_fine(teacher.edited, layout).to(device)
    stats = plane_statistics(generator.synthesize_planes(ws[None]).detach())
    before = _views_render(generator, adapter, ws, stats, cameras, chunk_rays)
    target = edited_labels[0]
    if paint_on_prediction:
        painted = edited_labels[0] != source_labels[0]
        target = torch.where(painted, target, before.seg_logits[0].argmax(0))
    result: EditResult = optimize_latent(
        generator, adapter, ws, cameras[0], target, config, plane_stats=stats
    )
    after = _views_render(generator, adapter, result.ws, stats, cameras, chunk_rays)
    k = layout.num_classes
    iou_before = touched_iou(before.seg_logits.argmax(1), edited_labels, touched, k)
    iou_after = touched_iou(after.seg_logits.argmax(1), edited_labels, touched, k)
    changed = torch.stack(
        [
            dilate(edited != source, config.dilation)
            for edited, source in zip(edited_labels, source_labels, strict=True)
        ]
    )
    psnr = psnr_outside(after.rgb_raw, before.rgb_raw, ~changed)
    figures = {
        "target_iou_before": float(iou_before[0]),
        "target_iou": float(iou_after[0]),
        "consistency_iou_before": _nanmean(iou_before[1:].tolist()),
        "consistency_iou": _nanmean(iou_after[1:].tolist()),
        "view_iou": dict(zip(VIEWS, iou_after.tolist(), strict=True)),
        "psnr": float(psnr.mean()),
        "view_psnr": dict(zip(VIEWS, psnr.tolist(), strict=True)),
        "seconds": result.seconds,
        "step_seconds": result.step_seconds / max(result.steps, 1),
        "steps": result.steps,
        "final_losses": result.losses[-1],
    }
    mask = colors_from_labels(target.cpu().numpy(), layout)
    after_mask = colors_from_labels(after.seg_logits[0].argmax(0).cpu().numpy(), layout)
    row = [mask, *map(uint8_image, before.rgb_raw), *map(uint8_image, after.rgb_raw), after_mask]
    return EditMeasure(figures, row)


def _nanmean(values: list[float]) -> float:
    present = [v for v in values if not math.isnan(v)]
    return sum(present) / len(present) if present else math.nan


def with_variant(config: EditConfig, variant: Variant) -> EditConfig:
    return dataclasses.replace(
        config, overlap_weight=variant.overlap_weight, full_frame=variant.full_frame
    )


FaceSource = Callable[[int, EditCase], tuple[torch.Tensor, TeacherViews]]
"""(face seed, case) → (the generator's ws of the face, the teacher's views of it)."""
Progress = Callable[[dict[str, Any]], None]
"""Called with each edit's figures as it finishes."""


def run_edit_benchmark(
    generator: TriplaneGenerator,
    adapters: dict[str, tuple[SegHead, Layout]],
    cases: list[EditCase],
    seeds: list[int],
    face_source: FaceSource,
    touched_classes: Callable[[EditCase, Layout], tuple[int, ...]],
    config: EditConfig,
    run_variants: list[Variant],
    full_frame_faces: int,
    sheet_faces: int,
    on_edit: Progress | None = None,
    chunk_rays: int | None = None,
    paint_on_prediction: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Every case × face × variant (full-frame variants on the first `full_frame_faces`
    faces only). adapters: layout name → (adapter, layout). Returns the per-edit figures and
    one contact sheet per operator (first variant, first `sheet_faces` faces).
    paint_on_prediction: see `measure_edit`."""
    runs, rows = [], {}
    for case in cases:
        adapter, layout = adapters[case.layout]
        touched = touched_classes(case, layout)
        for index, seed in enumerate(seeds):
            ws, teacher = face_source(seed, case)
            for variant in run_variants:
                if variant.full_frame and index >= full_frame_faces:
                    continue
                measure = measure_edit(
                    generator,
                    adapter,
                    layout,
                    touched,
                    ws,
                    teacher,
                    with_variant(config, variant),
                    chunk_rays,
                    paint_on_prediction,
                )
                figures = {
                    "operator": case.operator,
                    "amount": case.amount,
                    "layout": case.layout,
                    "touched_classes": [layout.class_names[c] for c in touched],
                    "face": seed,
                    "variant": variant.name,
                    "overlap_weight": variant.overlap_weight,
                    "full_frame": variant.full_frame,
                    **measure.figures,
                }
                runs.append(figures)
                if on_edit is not None:
                    on_edit(figures)
                if variant == run_variants[0] and index < sheet_faces:
                    rows.setdefault(case.operator, []).append(measure.row)
    return runs, {operator: contact_sheet(sheet) for operator, sheet in rows.items()}


def contact_sheet(rows: list[list[np.ndarray]]) -> np.ndarray:
    """(H, W, 3) uint8 grid of equal tiles (rows of (h, w, 3)), separated by gaps."""
    gap = np.array(SHEET_GAP_COLOR, dtype=np.uint8)

    def padded(tile: np.ndarray) -> np.ndarray:
        out = np.empty((tile.shape[0] + SHEET_GAP, tile.shape[1] + SHEET_GAP, 3), np.uint8)
        out[:] = gap
        out[: tile.shape[0], : tile.shape[1]] = tile
        return out

    grid = np.concatenate([np.concatenate([padded(t) for t in row], axis=1) for row in rows])
    return grid[:-SHEET_GAP, :-SHEET_GAP]


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Means per (operator, variant), then per variant over all operators ('all', when there
    are several)."""
    several = len({run["operator"] for run in runs}) > 1
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["operator"], run["variant"]), []).append(run)
        if several:
            groups.setdefault(("all", run["variant"]), []).append(run)
    summary = []
    for (operator, variant), members in groups.items():
        entry = {"operator": operator, "variant": variant, "edits": len(members)}
        entry["layout"] = members[0]["layout"] if operator != "all" else ""
        for key in (
            "target_iou_before",
            "target_iou",
            "consistency_iou_before",
            "consistency_iou",
            "psnr",
        ):
            entry[key] = _nanmean([m[key] for m in members])
        entry["seconds"] = statistics.median(m["seconds"] for m in members)
        entry["step_seconds"] = statistics.median(m["step_seconds"] for m in members)
        summary.append(entry)
    return sorted(summary, key=lambda entry: entry["operator"] == "all")


def fast_vs_full(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Fast path against full frame on the edits run both ways (same face, case and λ)."""
    full = {(r["operator"], r["face"], r["overlap_weight"]): r for r in runs if r["full_frame"]}
    pairs = [
        (r, full[key])
        for r in runs
        if not r["full_frame"] and (key := (r["operator"], r["face"], r["overlap_weight"])) in full
    ]
    if not pairs:
        return None
    fast_runs, full_runs = zip(*pairs, strict=True)

    def figures(members) -> dict[str, float]:
        return {
            "target_iou": _nanmean([m["target_iou"] for m in members]),
            "consistency_iou": _nanmean([m["consistency_iou"] for m in members]),
            "psnr": _nanmean([m["psnr"] for m in members]),
            "seconds": statistics.median(m["seconds"] for m in members),
            "step_seconds": statistics.median(m["step_seconds"] for m in members),
        }

    fast, whole = figures(fast_runs), figures(full_runs)
    return {
        "edits": len(pairs),
        "fast": fast,
        "full_frame": whole,
        "speedup_per_step": whole["step_seconds"] / fast["step_seconds"],
        "speedup_per_edit": whole["seconds"] / fast["seconds"],
    }


def _percent(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f}"


def markdown_section(summary: list[dict[str, Any]], comparison: dict | None, context: dict) -> str:
    """The 'Mask-driven edits' section body."""
    lines = [
        "Edits of held-out synthface faces toward the teacher's edited mask at the front view "
        "(benchmarks.md §3); the optimisation sees only that mask. *Target IoU*: IoU of the "
        "classes the edit touches at the front view (mean over the classes present), before "
        "→ after the edit; *3D consistency*: the same at the left and right views against the "
        "teacher's edited masks (never seen); *PSNR*: raw RGB against the unedited render "
        "outside the (dilated) region the edit changes, mean of the three views; *time*: "
        "median wall-clock seconds per edit (source and final renders included), and per "
        "optimisation step. *fast*: "
        "each step renders the edit region's rays, a class-stratified sample of the others "
        "and a few SSIM windows; *full frame*: every pixel every step (the paper's "
        "procedure). Written by `ffedit bench edits`.",
        "",
        f"Model `{context['model']}` on {context['device']} ({context['machine']}), "
        f"{context['date']}; faces {context['faces']}, {context['steps']} steps, target: "
        f"{context['target']}; command: `{context['command']}`.",
        "",
        "| edit | layout | variant | target IoU % (before → after) | 3D consistency IoU % "
        "(before → after) | PSNR outside (dB) | time / edit (s) | s / step | edits |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in summary:
        lines.append(
            f"| {entry['operator']} | {entry['layout']} | {entry['variant']} | "
            f"{_percent(entry['target_iou_before'])} → {_percent(entry['target_iou'])} | "
            f"{_percent(entry['consistency_iou_before'])} → {_percent(entry['consistency_iou'])} | "
            f"{entry['psnr']:.1f} | {entry['seconds']:.1f} | {entry['step_seconds']:.3f} | "
            f"{entry['edits']} |"
        )
    if comparison is not None:
        fast, full = comparison["fast"], comparison["full_frame"]
        lines += [
            "",
            f"Fast path against full frame on the edits run both ways "
            f"({comparison['edits']}): "
            f"target IoU {_percent(fast['target_iou'])} % vs {_percent(full['target_iou'])} %, "
            f"3D consistency {_percent(fast['consistency_iou'])} % vs "
            f"{_percent(full['consistency_iou'])} %, PSNR {fast['psnr']:.1f} vs "
            f"{full['psnr']:.1f} dB; median {fast['step_seconds']:.3f} vs "
            f"{full['step_seconds']:.3f} s per step (×{comparison['speedup_per_step']:.1f}), "
            f"{fast['seconds']:.1f} vs {full['seconds']:.1f} s per edit "
            f"(×{comparison['speedup_per_edit']:.1f}).",
        ]
    if context.get("sheets"):
        links = ", ".join(f"[{name}]({path})" for name, path in context["sheets"].items())
        lines += [
            "",
            "Contact sheets, one row per face (fast path, first λ): the target mask at the "
            f"front; RGB before at front, left, right; after at the same views; the predicted "
            f"mask after at the front: {links}.",
        ]
    if context.get("note"):
        lines += ["", context["note"]]
    return "\n".join(lines) + "\n"
