"""`ffedit bench edits`: mask-driven edits of held-out synthface faces against synthface's
exact 3D edits (benchmarks.md §3), measured as users make them.

Protocols (each edit starts from the generator's ws of the unedited face and sees one mask):

- **user** (the headline): the target is the model's own predicted mask at the front view
  with the pixels synthface's exact edit changes there painted in its edited labels, as a
  user paints on the page. At the front: *painted recall* (share of the painted pixels, those
  whose target differs from the prediction, that end with their painted label),
  *collateral* (share of the pixels outside the dilated painted region whose label
  changed), IoU of the touched classes to the painted mask before → after. At the unseen
  left/right views, against the exact edit there: *change recall* and *change precision*
  (pixels the edit changed to the teacher's edited label, over the pixels the teacher
  changed and over the pixels the edit changed) and IoU of the touched classes to "own mask
  + the teacher's change there". An edit whose painted set is empty (the exact edit changes
  no pixel of the model's mask) is skipped and counted.
- **teacher**: the target is the teacher's whole edited mask, the earlier protocol: the
  model's own mask differs from it in many pixels, so its gains mostly measure the edit
  repairing the model's errors, not the change a user asks for. Target IoU at the front and
  3D consistency IoU at left/right, before → after.

Both: PSNR of the raw RGB against the unedited render outside the dilated region the exact
edit changes (mean of the three views) and wall-clock seconds of `optimize_latent`.

Methods: `default` (`EditConfig()`, what the app runs) and `paper` (FFaceNeRF's procedure,
`paper_edit_config`), each on the fast path; the full-frame twin of `default` on the first
faces. Ground truth comes in as fine-label maps (`TeacherViews`); only the command (`run`)
renders them with synthface.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from ffedit.bench import report
from ffedit.camera import named_camera
from ffedit.cli.common import (
    RENDER_CHUNK_RAYS,
    layout_generator,
    load_cli_generator,
    name_list,
    seed_range,
    set_torch_threads,
)
from ffedit.config import DEFAULT_MODEL_PATH
from ffedit.device import resolve_device
from ffedit.edit.config import EditConfig, paper_edit_config
from ffedit.edit.errors import NothingToEdit
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
SMALL_EDIT_PIXELS = 50
"""An edit painting fewer pixels than this is small (the issue's split)."""
PROTOCOLS = ("user", "teacher")
SHEET_GAP = 2
SHEET_GAP_COLOR = (40, 40, 40)


@dataclass(frozen=True)
class EditCase:
    """One benchmarked edit."""

    operator: str
    """synthface edit operator."""
    amount: float
    """Operator steps applied."""
    layout: str
    """The layout whose classes show the edit."""

    @property
    def name(self) -> str:
        return f"{self.operator}:{self.amount:g}"


EDIT_CASES: tuple[EditCase, ...] = (
    EditCase("eyes.scale", 1.0, "eyes19"),
    EditCase("eyes.scale", 3.0, "eyes19"),
    EditCase("iris.scale", 2.0, "eyes19"),
    EditCase("pupil.scale", 3.0, "eyes19"),
    EditCase("brows.raise", 1.0, "base17"),
    EditCase("brows.raise", 3.0, "base17"),
    EditCase("nose.width", 1.0, "nose19"),
    EditCase("nose.width", 3.0, "nose19"),
    EditCase("nose.length", 2.0, "nose19"),
    EditCase("ala.width", 2.0, "base17"),
    EditCase("mouth.open", 0.5, "chin20"),
    EditCase("mouth.open", 1.5, "chin20"),
    EditCase("chin.length", 2.0, "chin20"),
)
"""The default cases: benchmarks.md §3's six operators plus iris, brows and nose length, from
a few painted pixels to a few hundred, each in a layout holding its classes."""


@dataclass(frozen=True)
class Variant:
    """How an edit is run: a method and whether every pixel is rendered each step."""

    method: str
    """"default" (`EditConfig()`) or "paper" (`paper_edit_config`)."""
    full_frame: bool = False

    @property
    def name(self) -> str:
        return f"{self.method}{', full frame' if self.full_frame else ''}"

    def config(self, steps: int | None) -> EditConfig:
        base = EditConfig() if self.method == "default" else paper_edit_config()
        changes = {"full_frame": self.full_frame} | ({} if steps is None else {"steps": steps})
        return dataclasses.replace(base, **changes)


DEFAULT, PAPER, DEFAULT_FULL_FRAME = Variant("default"), Variant("paper"), Variant("default", True)


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


def painted_target(
    predicted: torch.Tensor, source: torch.Tensor, edited: torch.Tensor
) -> torch.Tensor:
    """The user protocol's target (H, W): the model's prediction with the pixels where the
    teacher's edited labels differ from its unedited ones painted in the edited labels."""
    return torch.where(edited != source, edited, predicted)


def _ratio(part: torch.Tensor, whole: torch.Tensor) -> float:
    count = int(whole.sum())
    return math.nan if count == 0 else int((part & whole).sum()) / count


def user_figures(
    before: torch.Tensor,
    after: torch.Tensor,
    target: torch.Tensor,
    source: torch.Tensor,
    edited: torch.Tensor,
    touched: tuple[int, ...],
    k: int,
    dilation: int,
) -> dict[str, Any]:
    """The user protocol's figures (module doc) of predicted labels before and after (V, H,
    W), the front target (H, W) and the teacher's layout labels before and after (V, H, W)."""
    painted = target != before[0]
    outside = ~dilate(painted, dilation)
    reached = after[0] == target
    changed = after != before
    figures = {
        "painted_pixels": int(painted.sum()),
        "painted_recall": _ratio(reached, painted),
        "collateral": _ratio(changed[0], outside),
        "touched_iou_before": float(touched_iou(before[:1], target[None], touched, k)[0]),
        "touched_iou": float(touched_iou(after[:1], target[None], touched, k)[0]),
    }
    recalls, precisions, ious_before, ious = [], [], [], []
    for view in range(1, len(VIEWS)):
        teacher_change = edited[view] != source[view]
        right = changed[view] & teacher_change & (after[view] == edited[view])
        recalls.append(_ratio(right, teacher_change))
        precisions.append(_ratio(right, changed[view]))
        expected = painted_target(before[view], source[view], edited[view])[None]
        ious_before.append(float(touched_iou(before[view : view + 1], expected, touched, k)[0]))
        ious.append(float(touched_iou(after[view : view + 1], expected, touched, k)[0]))
    return figures | {
        "change_recall": _nanmean(recalls),
        "change_precision": _nanmean(precisions),
        "unseen_iou_before": _nanmean(ious_before),
        "unseen_iou": _nanmean(ious),
    }


def teacher_figures(
    before: torch.Tensor, after: torch.Tensor, edited: torch.Tensor, touched, k: int
) -> dict[str, Any]:
    """The teacher protocol's figures: touched-class IoU against the teacher's edited labels
    (V, H, W) at the front (target) and at left/right (3D consistency), before → after."""
    iou_before = touched_iou(before, edited, touched, k)
    iou_after = touched_iou(after, edited, touched, k)
    return {
        "target_iou_before": float(iou_before[0]),
        "target_iou": float(iou_after[0]),
        "consistency_iou_before": _nanmean(iou_before[1:].tolist()),
        "consistency_iou": _nanmean(iou_after[1:].tolist()),
    }


def measure_edit(
    generator: TriplaneGenerator,
    adapter: SegHead,
    layout: Layout,
    touched: tuple[int, ...],
    ws: torch.Tensor,
    teacher: TeacherViews,
    config: EditConfig,
    protocol: str = "user",
    chunk_rays: int | None = None,
) -> EditMeasure:
    """Run one edit of ws (num_ws, w_dim) toward the protocol's target at the front view and
    measure it (module doc); `NothingToEdit` when that target equals the prediction."""
    device = ws.device
    cameras = torch.stack([named_camera(view) for view in VIEWS]).to(device)
    source_labels = labels_from_fine(teacher.source, layout).to(device)
    edited_labels = labels_from_fine(teacher.edited, layout).to(device)
    stats = plane_statistics(generator.synthesize_planes(ws[None]).detach())
    before = _views_render(generator, adapter, ws, stats, cameras, chunk_rays)
    predicted = before.seg_logits.argmax(1)
    if protocol == "user":
        target = painted_target(predicted[0], source_labels[0], edited_labels[0])
    else:
        target = edited_labels[0]
    result: EditResult = optimize_latent(
        generator, adapter, ws, cameras[0], target, config, plane_stats=stats
    )
    after = _views_render(generator, adapter, result.ws, stats, cameras, chunk_rays)
    predicted_after = after.seg_logits.argmax(1)
    k = layout.num_classes
    if protocol == "user":
        figures = user_figures(
            predicted,
            predicted_after,
            target,
            source_labels,
            edited_labels,
            touched,
            k,
            config.dilation,
        )
    else:
        figures = teacher_figures(predicted, predicted_after, edited_labels, touched, k)
    changed = torch.stack(
        [
            dilate(edited != source, config.dilation)
            for edited, source in zip(edited_labels, source_labels, strict=True)
        ]
    )
    psnr = psnr_outside(after.rgb_raw, before.rgb_raw, ~changed)
    figures |= {
        "psnr": float(psnr.mean()),
        "view_psnr": dict(zip(VIEWS, psnr.tolist(), strict=True)),
        "seconds": result.seconds,
        "step_seconds": result.step_seconds / max(result.steps, 1),
        "steps": result.steps,
        "final_losses": result.losses[-1],
    }
    mask = colors_from_labels(target.cpu().numpy(), layout)
    after_mask = colors_from_labels(predicted_after[0].cpu().numpy(), layout)
    row = [mask, *map(uint8_image, before.rgb_raw), *map(uint8_image, after.rgb_raw), after_mask]
    return EditMeasure(figures, row)


def _nanmean(values: list[float]) -> float:
    present = [v for v in values if not math.isnan(v)]
    return sum(present) / len(present) if present else math.nan


def _nanmedian(values: list[float]) -> float:
    present = [v for v in values if not math.isnan(v)]
    return statistics.median(present) if present else math.nan


FaceSource = Callable[[int, EditCase], tuple[torch.Tensor, TeacherViews]]
"""(face seed, case) → (the generator's ws of the face, the teacher's views of it)."""
Progress = Callable[[dict[str, Any]], None]
"""Called with each edit's figures as it finishes (or is skipped)."""


@dataclass(frozen=True)
class Run:
    """One (protocol, variant) of the benchmark, on the first `faces` faces (None: all) and
    the cases named in `cases` (None: all)."""

    protocol: str
    variant: Variant
    faces: int | None = None
    cases: tuple[str, ...] | None = None

    def covers(self, case: EditCase, face_index: int) -> bool:
        return (self.faces is None or face_index < self.faces) and (
            self.cases is None or case.name in self.cases
        )


def run_edit_benchmark(
    generator: TriplaneGenerator,
    adapters: dict[str, tuple[SegHead, Layout]],
    cases: list[EditCase],
    seeds: list[int],
    face_source: FaceSource,
    touched_classes: Callable[[EditCase, Layout], tuple[int, ...]],
    plan: list[Run],
    steps: int | None,
    sheet_faces: int,
    on_edit: Progress | None = None,
    chunk_rays: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Every case × face × run of the plan. adapters: layout name → (adapter, layout).
    Returns the per-edit figures (skipped edits with `skipped`: True) and one contact sheet
    per case (the plan's first run, first `sheet_faces` faces it measured)."""
    runs, rows = [], {}
    for case in cases:
        adapter, layout = adapters[case.layout]
        touched = touched_classes(case, layout)
        for index, seed in enumerate(seeds):
            ws, teacher = face_source(seed, case)
            for item in plan:
                if not item.covers(case, index):
                    continue
                figures = {
                    "case": case.name,
                    "operator": case.operator,
                    "amount": case.amount,
                    "layout": case.layout,
                    "touched_classes": [layout.class_names[c] for c in touched],
                    "face": seed,
                    "protocol": item.protocol,
                    "variant": item.variant.name,
                    "full_frame": item.variant.full_frame,
                }
                config = item.variant.config(steps)
                try:
                    measure = measure_edit(
                        generator,
                        adapter,
                        layout,
                        touched,
                        ws,
                        teacher,
                        config,
                        item.protocol,
                        chunk_rays,
                    )
                except NothingToEdit:
                    figures["skipped"] = True
                else:
                    figures |= {"skipped": False, **measure.figures}
                    sheet = rows.setdefault(case.name, [])
                    if item == plan[0] and len(sheet) < sheet_faces:
                        sheet.append(measure.row)
                runs.append(figures)
                if on_edit is not None:
                    on_edit(figures)
    return runs, {name: contact_sheet(sheet) for name, sheet in rows.items() if sheet}


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


USER_KEYS = (
    "painted_pixels",
    "painted_recall",
    "collateral",
    "touched_iou_before",
    "touched_iou",
    "change_recall",
    "change_precision",
    "unseen_iou_before",
    "unseen_iou",
    "psnr",
    "seconds",
)
TEACHER_KEYS = (
    "target_iou_before",
    "target_iou",
    "consistency_iou_before",
    "consistency_iou",
    "psnr",
    "seconds",
)


def _group_medians(members: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, Any]:
    measured = [m for m in members if not m["skipped"]]
    entry = {"edits": len(measured), "skipped": len(members) - len(measured)}
    return entry | {key: _nanmedian([m[key] for m in measured]) for key in keys}


def size_class(run: dict[str, Any]) -> str:
    """'small' (fewer than `SMALL_EDIT_PIXELS` painted pixels) or 'large'."""
    return "small" if run["painted_pixels"] < SMALL_EDIT_PIXELS else "large"


def summarize(runs: list[dict[str, Any]], protocol: str) -> list[dict[str, Any]]:
    """Medians per (case, variant) of one protocol's edits, then per (size class, variant)
    for the user protocol or per variant over all cases for the teacher's."""
    keys = USER_KEYS if protocol == "user" else TEACHER_KEYS
    chosen = [run for run in runs if run["protocol"] == protocol]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in chosen:
        groups.setdefault((run["case"], run["variant"]), []).append(run)
    for run in chosen:
        if run["skipped"]:
            continue
        overall = size_class(run) + " edits" if protocol == "user" else "all"
        groups.setdefault((overall, run["variant"]), []).append(run)
    summary = []
    for (case, variant), members in groups.items():
        entry = {"case": case, "variant": variant, "layout": members[0]["layout"]}
        summary.append(entry | _group_medians(members, keys))
    return sorted(summary, key=lambda entry: entry["case"].endswith(("edits", "all")))


def twin_comparison(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The default fast path against its full-frame twin on the user-protocol edits run both
    ways (same case and face): medians of each figure, and per-edit time ratio."""
    full = {
        (r["case"], r["face"]): r
        for r in runs
        if r["protocol"] == "user" and r["variant"] == DEFAULT_FULL_FRAME.name and not r["skipped"]
    }
    pairs = [
        (r, full[key])
        for r in runs
        if r["protocol"] == "user"
        and r["variant"] == DEFAULT.name
        and not r["skipped"]
        and (key := (r["case"], r["face"])) in full
    ]
    if not pairs:
        return None
    fast_runs, full_runs = zip(*pairs, strict=True)
    keys = (*USER_KEYS, "step_seconds")
    fast = {key: _nanmedian([m[key] for m in fast_runs]) for key in keys}
    whole = {key: _nanmedian([m[key] for m in full_runs]) for key in keys}
    return {
        "edits": len(pairs),
        "fast": fast,
        "full_frame": whole,
        "speedup_per_edit": whole["seconds"] / fast["seconds"],
    }


def _percent(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f}"


def _fraction(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def _user_table(summary: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| edit | layout | variant | painted px | painted recall | collateral % | touched IoU % "
        "(before → after) | unseen: change recall | change precision | IoU % (before → "
        "after) | PSNR outside (dB) | time / edit (s) | edits (skipped) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in summary:
        overall = entry["case"].endswith("edits")
        name = f"**{entry['case']}**" if overall else entry["case"]
        if entry["edits"] == 0:
            lines.append(
                f"| {name} | {entry['layout']} | {entry['variant']} | – | – | – | – | – | – | – "
                f"| – | – | 0 ({entry['skipped']}) |"
            )
            continue
        lines.append(
            f"| {name} | {'' if overall else entry['layout']} | {entry['variant']} | "
            f"{entry['painted_pixels']:.0f} | {_fraction(entry['painted_recall'])} | "
            f"{_percent(entry['collateral'])} | {_percent(entry['touched_iou_before'])} → "
            f"{_percent(entry['touched_iou'])} | {_fraction(entry['change_recall'])} | "
            f"{_fraction(entry['change_precision'])} | {_percent(entry['unseen_iou_before'])} → "
            f"{_percent(entry['unseen_iou'])} | {entry['psnr']:.1f} | {entry['seconds']:.1f} | "
            f"{entry['edits']} ({entry['skipped']}) |"
        )
    return lines


def _teacher_table(summary: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| edit | layout | variant | target IoU % (before → after) | 3D consistency IoU % "
        "(before → after) | PSNR outside (dB) | time / edit (s) | edits |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in summary:
        if entry["edits"] == 0:
            continue
        lines.append(
            f"| {entry['case']} | {entry['layout'] if entry['case'] != 'all' else ''} | "
            f"{entry['variant']} | {_percent(entry['target_iou_before'])} → "
            f"{_percent(entry['target_iou'])} | {_percent(entry['consistency_iou_before'])} → "
            f"{_percent(entry['consistency_iou'])} | {entry['psnr']:.1f} | "
            f"{entry['seconds']:.1f} | {entry['edits']} |"
        )
    return lines


def markdown_section(
    user: list[dict[str, Any]],
    teacher: list[dict[str, Any]],
    comparison: dict | None,
    context: dict,
) -> str:
    """The 'Mask-driven edits' section body."""
    lines = [
        "Edits of held-out synthface faces as users make them (benchmarks.md §3): the target "
        "is the model's own predicted mask at the front view with the pixels synthface's "
        "exact edit changes there painted in. *Painted recall*: share of the painted pixels "
        "(target ≠ prediction) that end with their painted label; *collateral*: share of the "
        "pixels outside the painted region (dilated by 2 px) whose label changed; *touched "
        "IoU*: IoU of the classes the edit touches against the painted mask. *Unseen*: at the "
        "left and right views, which the edit never sees, against synthface's exact edit "
        "there: *change recall* and *change precision* (pixels changed to the exact edit's "
        "label, over the pixels the exact edit changes and over the pixels the edit changed) "
        "and the touched IoU against the model's own mask with the exact change painted in. "
        "*PSNR*: raw RGB against the unedited render outside the dilated region the exact "
        "edit changes, mean of the three views; *time*: wall-clock seconds of the edit. Every "
        "figure is the median over the edits of the row; *small edits* paint fewer than "
        f"{SMALL_EDIT_PIXELS} pixels. Edits whose painted set is empty (the exact edit changes "
        "no pixel of the model's mask) are skipped and counted. *default*: `EditConfig()`, "
        "what the app runs; *paper*: FFaceNeRF's procedure (`paper_edit_config`); *full "
        "frame*: the default's reference twin rendering every pixel every step. Written by "
        "`ffedit bench edits`.",
        "",
        f"Model `{context['model']}` on {context['device']} ({context['machine']}), "
        f"{context['date']}; faces {context['faces']}; command: `{context['command']}`.",
        "",
        *_user_table(user),
    ]
    if comparison is not None:
        fast, full = comparison["fast"], comparison["full_frame"]
        lines += [
            "",
            f"Default fast path against its full-frame twin on the {comparison['edits']} "
            f"edits run both ways (medians): painted recall {_fraction(fast['painted_recall'])} "
            f"vs {_fraction(full['painted_recall'])}, collateral "
            f"{_percent(fast['collateral'])} vs {_percent(full['collateral'])} %, change "
            f"recall {_fraction(fast['change_recall'])} vs {_fraction(full['change_recall'])}, "
            f"change precision {_fraction(fast['change_precision'])} vs "
            f"{_fraction(full['change_precision'])}, PSNR {fast['psnr']:.1f} vs "
            f"{full['psnr']:.1f} dB; {fast['seconds']:.1f} vs {full['seconds']:.1f} s per edit "
            f"(×{comparison['speedup_per_edit']:.1f}).",
        ]
    if teacher:
        lines += [
            "",
            "The earlier protocol, kept for comparison: the target is the teacher's whole "
            "edited mask at the front view, so the edit must also repair the model's own "
            "errors there (it differs from the model's mask in many pixels: these gains are "
            "mostly that repair, not the painted change). *Target IoU* at the front and *3D "
            "consistency* IoU at left/right, of the touched classes against the teacher's "
            "edited masks, before → after; medians.",
            "",
            *_teacher_table(teacher),
        ]
    if context.get("sheets"):
        links = ", ".join(f"[{name}]({path})" for name, path in context["sheets"].items())
        lines += [
            "",
            "Contact sheets, one row per face (user protocol, default): the painted target "
            "at the front; RGB before at front, left, right; after at the same views; the "
            f"predicted mask after at the front: {links}.",
        ]
    if context.get("note"):
        lines += ["", context["note"]]
    return "\n".join(lines) + "\n"


DESCRIPTION = (
    "Edit held-out synthface faces as a user does (the model's own mask with synthface's "
    "exact edit painted in) and, on a few faces, toward the teacher's whole edited mask; "
    "with the default method, the paper's, and the default's full-frame twin; measure "
    "painted recall, collateral, change recall/precision at unseen views, PSNR and time "
    "(benchmarks.md §3). Writes JSON, before/after contact sheets and optionally the "
    "'Mask-driven edits' section."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--faces", type=seed_range, default="0:10", help="held-out faces (0:10)")
    parser.add_argument("--json", required=True, help="JSON file to write")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help=f"generator checkpoint ({DEFAULT_MODEL_PATH})")
    source.add_argument(
        "--preset", help="random weights of a preset with fresh adapters (speed/pipeline check)"
    )
    parser.add_argument("--adapters", help="folder of adapters per layout (MODEL/adapters)")
    parser.add_argument(
        "--cases",
        type=name_list,
        help="edit cases as OPERATOR:AMOUNT (default: every case of EDIT_CASES)",
    )
    parser.add_argument(
        "--paper-faces", type=int, default=3, help="faces also edited the paper's way (3)"
    )
    parser.add_argument(
        "--full-frame-faces", type=int, default=1, help="faces also edited full-frame (1)"
    )
    parser.add_argument(
        "--full-frame-cases",
        type=name_list,
        default="eyes.scale:1",
        help="cases also edited full-frame (eyes.scale:1: one full-frame edit renders three "
        "whole views per step, minutes on a CPU)",
    )
    parser.add_argument(
        "--teacher-faces",
        type=int,
        default=2,
        help="faces also edited toward the teacher's whole mask, default and paper (2)",
    )
    parser.add_argument("--steps", type=int, help="optimisation steps (each method's default)")
    parser.add_argument("--sheet-faces", type=int, default=3, help="faces per contact sheet (3)")
    parser.add_argument(
        "--images", default="docs/images/edits", help="contact sheet folder ('' for none)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument(
        "--markdown", help="Markdown file whose 'Mask-driven edits' section to update"
    )


def _edit_models(args: argparse.Namespace, layouts: list[str], device):
    """(generator, {layout: (adapter, layout)}) of --model (adapters from their folders) or
    --preset (random weights, freshly initialised adapters)."""
    from ffedit.adapter import GeometryAdapter
    from ffedit.io.adapters import layout_adapter_folder, load_adapter
    from ffedit.io.errors import CheckpointError
    from ffedit.layouts import get_layout

    if args.preset is not None:
        generator = load_cli_generator(args.preset, None, device)
        torch.manual_seed(0)
        return generator, {
            name: (
                GeometryAdapter.for_generator(generator.config, get_layout(name).num_classes)
                .to(device)
                .eval(),
                get_layout(name),
            )
            for name in layouts
        }
    model = args.model or DEFAULT_MODEL_PATH
    generator = layout_generator(model, device)
    adapters = {}
    for name in layouts:
        folder = Path(args.adapters) / name if args.adapters else layout_adapter_folder(model, name)
        if not folder.exists():
            raise CheckpointError(
                f"no adapter for layout {name!r} at {folder}: train one with "
                f"`ffedit train-layout --layout {name} … --out {folder}` or pass --adapters"
            )
        saved = load_adapter(folder, device, generator.config)
        adapters[name] = (saved.adapter, saved.layout)
    return generator, adapters


def benchmark_plan(args: argparse.Namespace) -> list[Run]:
    """The runs of the arguments: the user protocol with the default method on every face
    (first: the contact sheets), the paper's and the full-frame twin on the first faces, and
    the teacher protocol (default and paper) on the first faces."""
    plan = [Run("user", DEFAULT)]
    if args.paper_faces > 0:
        plan.append(Run("user", PAPER, args.paper_faces))
    if args.full_frame_faces > 0:
        twin_cases = None if args.full_frame_cases is None else tuple(args.full_frame_cases)
        plan.append(Run("user", DEFAULT_FULL_FRAME, args.full_frame_faces, twin_cases))
    if args.teacher_faces > 0:
        plan += [Run("teacher", DEFAULT, args.teacher_faces)]
        plan += [Run("teacher", PAPER, args.teacher_faces)]
    return plan


def _chosen_cases(names: list[str] | None) -> list[EditCase]:
    """The cases named OPERATOR:AMOUNT (all by default); ValueError for an unknown one."""
    known = {case.name: case for case in EDIT_CASES}
    if names is None:
        return list(EDIT_CASES)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"no benchmark case {unknown}; cases: {', '.join(known)}")
    return [known[name] for name in names]


def run(args: argparse.Namespace) -> int:
    import os

    from tqdm import tqdm

    from ffedit.generator import ws_from_seed
    from ffedit.io.errors import CheckpointError
    from ffedit.io.images import save_png
    from ffedit.synthface import face_from_latent, latent_from_seed, render_face
    from ffedit.synthface.edits import apply_edit, edit_classes

    set_torch_threads(args.threads)
    try:
        cases = _chosen_cases(args.cases)
    except ValueError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    device = resolve_device(args.device)
    try:
        generator, adapters = _edit_models(args, sorted({case.layout for case in cases}), device)
    except (CheckpointError, KeyError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 1
    cameras = torch.stack([named_camera(view) for view in VIEWS])
    resolution = generator.config.neural_rendering_resolution
    faces, sources = {}, {}

    def face_source(seed: int, case):
        if seed not in faces:
            faces[seed] = face_from_latent(latent_from_seed(seed))
            sources[seed] = render_face(faces[seed], cameras, resolution).fine_labels
        edited = apply_edit(faces[seed], case.operator, case.amount)
        teacher = TeacherViews(sources[seed], render_face(edited, cameras, resolution).fine_labels)
        return ws_from_seed(generator, seed), teacher

    plan = benchmark_plan(args)
    total = sum(
        item.covers(case, i) for item in plan for case in cases for i in range(len(args.faces))
    )
    with tqdm(total=total, desc="edits", unit="edit") as bar:

        def on_edit(figures):
            bar.update(1)
            if not figures["skipped"]:
                recall = figures.get("painted_recall", figures.get("target_iou", math.nan))
                bar.set_postfix(edit=figures["case"], score=f"{recall:.2f}")

        runs, sheets = run_edit_benchmark(
            generator,
            adapters,
            cases,
            args.faces,
            face_source,
            lambda case, layout: edit_classes(case.operator, layout),
            plan,
            args.steps,
            args.sheet_faces if args.images else 0,
            on_edit,
            RENDER_CHUNK_RAYS,
        )
    user, teacher = summarize(runs, "user"), summarize(runs, "teacher")
    comparison = twin_comparison(runs)
    model = (
        f"preset {args.preset} (random weights, fresh adapters)"
        if args.preset
        else args.model or DEFAULT_MODEL_PATH
    )
    resolved = {} if args.preset else {"model": args.model or DEFAULT_MODEL_PATH}
    run_stamp = report.stamp("edits", args, cases=[case.name for case in cases], **resolved)
    context = {
        "command": run_stamp.command,
        "model": model,
        "device": report.describe_device(device),
        "machine": run_stamp.machine,
        "date": run_stamp.date,
        "faces": f"{args.faces[0]}:{len(args.faces)}",
        "cases": [dataclasses.asdict(case) for case in cases],
        "configs": {item.variant.name: item.variant.config(args.steps).to_dict() for item in plan},
    }
    if args.preset:
        context["note"] = (
            "Random weights and untrained adapters: these rows check the pipeline and its "
            "speed only; their figures say nothing about edit quality. Quality figures "
            f"come from a run on the trained model (`--model {DEFAULT_MODEL_PATH}` and its "
            "adapters), which replaces this section."
        )
    written = {
        name: save_png(Path(args.images) / f"{name.replace('.', '-').replace(':', '-')}.png", s)
        for name, s in sheets.items()
    }
    relative_to = Path(args.markdown).parent if args.markdown else Path(".")
    context["sheets"] = {name: os.path.relpath(path, relative_to) for name, path in written.items()}
    document = {
        **context,
        "user": user,
        "teacher": teacher,
        "fast_vs_full": comparison,
        "runs": runs,
    }
    report.write_json(args.json, document)
    print(
        f"wrote {args.json} ({len(runs)} edits)"
        + (f" and {len(sheets)} sheets in {args.images}" if sheets else "")
    )
    body = markdown_section(user, teacher, comparison, context)
    report.publish(body, args.markdown, SECTION_TITLE)
    return 0
