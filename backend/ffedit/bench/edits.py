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
edits. Ground truth comes in as fine-label maps (`TeacherViews`); only the command (`run`)
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


DESCRIPTION = (
    "Edit held-out synthface faces toward the teacher's edited mask at the front view, for "
    "each edit operator in the layout holding its classes, with each overlap weight and (on "
    "the first faces) the full-frame twin; measure target IoU, 3D consistency at left/right, "
    "preservation PSNR and time (benchmarks.md §3). Writes JSON, before/after contact "
    "sheets and optionally the 'Mask-driven edits' section."
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
    parser.add_argument("--lambdas", default="0.5,0", help="overlap weights λ (0.5,0)")
    parser.add_argument(
        "--operators", type=name_list, help="edit operators (default: the six of benchmarks.md §3)"
    )
    parser.add_argument(
        "--full-frame-faces", type=int, default=2, help="faces also edited full-frame (2)"
    )
    parser.add_argument("--steps", type=int, default=100, help="optimisation steps (100)")
    parser.add_argument(
        "--region-rays",
        type=int,
        help="fast path: at most this many edit-region rays per step (EditConfig's default; "
        "0: all)",
    )
    parser.add_argument(
        "--context-rays",
        type=int,
        help="fast path: rays drawn outside the edit region per step (EditConfig's default)",
    )
    parser.add_argument("--sheet-faces", type=int, default=3, help="faces per contact sheet (3)")
    parser.add_argument(
        "--paint-on-prediction",
        action="store_true",
        help="target = the model's own mask with the edit's pixels painted in (default: the "
        "teacher's edited mask); keeps edit regions realistic for untrained models (timing)",
    )
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


def _checked_config(args: argparse.Namespace, known: dict[str, EditCase]):
    """(lambdas, operators, EditConfig) of the arguments; ValueError when they are wrong."""
    from ffedit.synthface.edits import EDIT_OPERATORS

    lambdas = [float(value) for value in args.lambdas.split(",")]
    operators = args.operators or list(known)
    unknown = [name for name in operators if name not in known]
    if unknown:
        raise ValueError(
            f"no benchmark case for {unknown}; cases: {', '.join(known)} (operators: "
            f"{', '.join(EDIT_OPERATORS)})"
        )
    config = EditConfig(steps=args.steps)
    if args.region_rays is not None:
        config = dataclasses.replace(config, region_rays=args.region_rays or None)
    if args.context_rays is not None:
        config = dataclasses.replace(config, context_rays=args.context_rays)
    return lambdas, operators, config


def run(args: argparse.Namespace) -> int:
    import os

    from tqdm import tqdm

    from ffedit.generator import ws_from_seed
    from ffedit.io.errors import CheckpointError
    from ffedit.io.images import save_png
    from ffedit.synthface import face_from_latent, latent_from_seed, render_face
    from ffedit.synthface.edits import apply_edit, edit_classes

    set_torch_threads(args.threads)
    known = {case.operator: case for case in EDIT_CASES}
    try:
        lambdas, operators, config = _checked_config(args, known)
    except ValueError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    cases = [known[name] for name in operators]
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

    run_variants = variants(lambdas, lambdas[0] if args.full_frame_faces > 0 else None)
    per_case = len(args.faces) * len(lambdas) + min(args.full_frame_faces, len(args.faces))
    with tqdm(total=len(cases) * per_case, desc="edits", unit="edit") as bar:

        def on_edit(figures):
            bar.update(1)
            bar.set_postfix(
                edit=figures["operator"],
                iou=f"{figures['target_iou']:.2f}",
                s=f"{figures['seconds']:.0f}",
            )

        runs, sheets = run_edit_benchmark(
            generator,
            adapters,
            cases,
            args.faces,
            face_source,
            lambda case, layout: edit_classes(case.operator, layout),
            config,
            run_variants,
            args.full_frame_faces,
            args.sheet_faces if args.images else 0,
            on_edit,
            RENDER_CHUNK_RAYS,
            args.paint_on_prediction,
        )
    summary = summarize(runs)
    comparison = fast_vs_full(runs)
    model = (
        f"preset {args.preset} (random weights, fresh adapters)"
        if args.preset
        else args.model or DEFAULT_MODEL_PATH
    )
    resolved = {} if args.preset else {"model": args.model or DEFAULT_MODEL_PATH}
    run_stamp = report.stamp("edits", args, operators=operators, **resolved)
    context = {
        "command": run_stamp.command,
        "model": model,
        "device": report.describe_device(device),
        "machine": run_stamp.machine,
        "date": run_stamp.date,
        "faces": f"{args.faces[0]}:{len(args.faces)}",
        "steps": args.steps,
        "target": "the model's own mask with the edit painted in"
        if args.paint_on_prediction
        else "the teacher's edited mask",
        "cases": [dataclasses.asdict(case) for case in cases],
        "config": config.to_dict(),
    }
    if args.preset:
        context["note"] = (
            "Random weights and untrained adapters: these rows check the pipeline and its "
            "speed only; their IoU and PSNR say nothing about edit quality. Quality figures "
            f"come from a run on the trained model (`--model {DEFAULT_MODEL_PATH}` and its "
            "adapters), which replaces this section."
        )
    written = {
        operator: save_png(Path(args.images) / f"{operator.replace('.', '-')}.png", sheet)
        for operator, sheet in sheets.items()
    }
    relative_to = Path(args.markdown).parent if args.markdown else Path(".")
    context["sheets"] = {
        operator: os.path.relpath(path, relative_to) for operator, path in written.items()
    }
    document = {**context, "summary": summary, "fast_vs_full": comparison, "runs": runs}
    report.write_json(args.json, document)
    print(
        f"wrote {args.json} ({len(runs)} edits)"
        + (f" and {len(sheets)} sheets in {args.images}" if sheets else "")
    )
    body = markdown_section(summary, comparison, context)
    report.publish(body, args.markdown, SECTION_TITLE)
    return 0
