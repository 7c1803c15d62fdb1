"""`ffedit bench generator`: fidelity of a distilled generator against its synthface teacher
(benchmarks.md §1), and the latency of the renders the app serves.

On held-out faces (seeds below the training range) × named views, deterministic rendering
at the generator's neural rendering resolution:

- `base15` mIoU of the composited geometry-decoder logits against the teacher's labels
  (per image over classes present, then the mean, as the reference evaluation);
- PSNR of the raw RGB against the teacher (both in [−1, 1]); mean absolute depth error on
  the teacher's foreground;
- mixing stability: with the appearance ws layers taken from the next face, the share of
  pixels whose `base15` label changes, and the RGB PSNR between the two renders.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from dataclasses import dataclass

import numpy as np
import torch

from ffedit.bench import report
from ffedit.bench.render import median_seconds
from ffedit.camera import named_camera
from ffedit.cli.common import name_list, seed_range
from ffedit.config import DEFAULT_MODEL_PATH
from ffedit.device import resolve_device
from ffedit.distill.train import mixed_ws
from ffedit.generator import SERVING_APPEARANCE_THRESHOLD, TriplaneGenerator
from ffedit.layouts import BASE_LAYOUT, colors_from_labels, get_layout, labels_from_fine
from ffedit.layouts.metrics import class_ious, iou_table, mean_iou
from ffedit.synthface import face_from_latent, latent_from_seed, render_face
from ffedit.synthface.sheet import tile_grid, uint8_rgb


@dataclass(frozen=True)
class FaceFidelity:
    """Per-view figures of one face (lists follow the evaluated views)."""

    seed: int
    intersections: torch.Tensor
    """(V, 15) per-view intersections of base15 classes."""
    unions: torch.Tensor
    """(V, 15) per-view unions."""
    psnr: list[float]
    depth_mae: list[float]
    mixing_changed: list[float]
    """Share of pixels whose label changes when the appearance ws come from another face."""
    mixing_psnr: list[float]


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR (dB) of images in [−1, 1] (peak-to-peak 2)."""
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(4.0 / mse)


def _render(generator: TriplaneGenerator, ws: torch.Tensor, cameras: torch.Tensor):
    views = len(cameras)
    planes = generator.synthesize_planes(ws)
    return generator.render(
        ws.expand(views, -1, -1),
        cameras,
        planes=planes.expand(views, -1, -1, -1, -1),
        super_resolve=False,
    )


@torch.inference_mode()
def face_fidelity(
    generator: TriplaneGenerator, seed: int, partner_seed: int, views: list[str]
) -> FaceFidelity:
    """Compare the generator with the teacher on face `seed`; mixing uses `partner_seed`."""
    device = generator.device
    cameras = torch.stack([named_camera(view) for view in views])
    resolution = generator.config.neural_rendering_resolution
    z = latent_from_seed(seed)
    teacher = render_face(face_from_latent(z[None]), cameras, resolution)
    target = labels_from_fine(teacher.fine_labels, get_layout(BASE_LAYOUT))
    zeros = torch.zeros(1, generator.config.c_dim, device=device)
    ws = generator.mapping(z[None].to(device), zeros)
    output = _render(generator, ws, cameras.to(device))
    labels = output.seg_logits.argmax(1).cpu()
    table = iou_table(labels, target, generator.config.seg_classes)
    mixed = mixed_ws(generator, z[None].to(device), latent_from_seed(partner_seed)[None].to(device))
    mixed_output = _render(generator, mixed, cameras.to(device))
    mixed_labels = mixed_output.seg_logits.argmax(1).cpu()
    foreground = target > 0
    rgb, depth = output.rgb_raw.cpu(), output.depth.cpu()[:, 0]
    return FaceFidelity(
        seed=seed,
        intersections=table.intersections,
        unions=table.unions,
        psnr=[psnr(rgb[v], teacher.rgb[v]) for v in range(len(views))],
        depth_mae=[
            float((depth[v] - teacher.depth[v, 0])[foreground[v]].abs().mean())
            for v in range(len(views))
        ],
        mixing_changed=[
            float((mixed_labels[v] != labels[v]).float().mean()) for v in range(len(views))
        ],
        mixing_psnr=[psnr(rgb[v], mixed_output.rgb_raw[v].cpu()) for v in range(len(views))],
    )


@torch.inference_mode()
def comparison_sheet(
    generator: TriplaneGenerator, seeds: list[int], views: list[str]
) -> np.ndarray:
    """(H, W, 3) uint8 contact sheet: per face a teacher row and a model row, each with the
    raw RGB at every view, then the `base15` masks (deterministic renders)."""
    device = generator.device
    cameras = torch.stack([named_camera(view) for view in views])
    resolution = generator.config.neural_rendering_resolution
    layout = get_layout(BASE_LAYOUT)
    zeros = torch.zeros(1, generator.config.c_dim, device=device)
    rows = []
    for seed in seeds:
        z = latent_from_seed(seed)
        teacher = render_face(face_from_latent(z[None]), cameras, resolution)
        teacher_labels = labels_from_fine(teacher.fine_labels, layout)
        model = _render(generator, generator.mapping(z[None].to(device), zeros), cameras.to(device))
        for rgb, labels in (
            (teacher.rgb, teacher_labels),
            (model.rgb_raw, model.seg_logits.argmax(1)),
        ):
            rgb_tiles = [uint8_rgb(image) for image in rgb]
            mask_tiles = [colors_from_labels(view.cpu().numpy(), layout) for view in labels]
            rows.append(rgb_tiles + mask_tiles)
    return tile_grid(rows)


def summarize(results: list[FaceFidelity], views: list[str]) -> dict:
    """Per-view and overall means, per-class pooled IoU (class name → IoU)."""
    from ffedit.layouts.metrics import IouTable

    def table(view: int | None) -> IouTable:
        pick = slice(None) if view is None else slice(view, view + 1)
        return IouTable(
            torch.cat([r.intersections[pick] for r in results]),
            torch.cat([r.unions[pick] for r in results]),
        )

    def mean(values: list[float]) -> float:
        finite = [v for v in values if math.isfinite(v)]
        return sum(finite) / len(finite) if finite else float("nan")

    per_view = {}
    for index, view in enumerate(views):
        per_view[view] = {
            "miou": mean_iou(table(index)),
            "psnr": mean([r.psnr[index] for r in results]),
            "depth_mae": mean([r.depth_mae[index] for r in results]),
            "mixing_changed": mean([r.mixing_changed[index] for r in results]),
            "mixing_psnr": mean([r.mixing_psnr[index] for r in results]),
        }
    names = get_layout(BASE_LAYOUT).class_names
    overall = {key: mean([per_view[v][key] for v in views]) for key in per_view[views[0]]}
    overall["miou"] = mean_iou(table(None))
    ious = class_ious(table(None))
    return {
        "faces": [r.seed for r in results],
        "views": views,
        "overall": overall,
        "per_view": per_view,
        "class_iou": {name: float(iou) for name, iou in zip(names, ious, strict=True)},
    }


@dataclass(frozen=True)
class ServingLatency:
    """Median seconds of the renders the app serves (planes synthesised each time)."""

    preview_seconds: float
    """One 64² view with its super-resolved image."""
    full_view_seconds: float
    """One view at the neural rendering resolution (mask + RGB) with super-resolution."""
    three_views_seconds: float
    """Front, left and right full views of one face (planes synthesised once)."""
    cached_preview_seconds: float
    """A 64² view + super-resolution from cached planes (dragging the camera)."""


@torch.inference_mode()
def serving_latency(generator: TriplaneGenerator, repeats: int = 5) -> ServingLatency:
    """Median wall-clock latencies (after a warm-up) of one face's renders, as the app
    serves them (appearance decoded only where it shows: colours within 2e-3)."""
    device = generator.device
    z = latent_from_seed(0)[None].to(device)
    ws = generator.mapping(z, torch.zeros(1, generator.config.c_dim, device=device))
    front = named_camera("front")[None].to(device)
    cameras = torch.stack([named_camera(v) for v in ("front", "left", "right")]).to(device)
    planes = generator.synthesize_planes(ws)

    def view(resolution: int, cached: bool) -> None:
        generator.render(
            ws,
            front,
            resolution,
            planes=planes if cached else None,
            appearance_threshold=SERVING_APPEARANCE_THRESHOLD,
        )

    def three_views() -> None:
        fresh = generator.synthesize_planes(ws)
        generator.render(
            ws.expand(3, -1, -1),
            cameras,
            planes=fresh.expand(3, -1, -1, -1, -1),
            appearance_threshold=SERVING_APPEARANCE_THRESHOLD,
        )

    resolution = generator.config.neural_rendering_resolution
    preview, full_view, three, cached = median_seconds(
        [
            lambda: view(64, cached=False),
            lambda: view(resolution, cached=False),
            three_views,
            lambda: view(64, cached=True),
        ],
        repeats,
        device,
    )
    return ServingLatency(
        preview_seconds=preview,
        full_view_seconds=full_view,
        three_views_seconds=three,
        cached_preview_seconds=cached,
    )


SECTION_TITLE = "Default generator fidelity"
TARGETS = {
    "miou": ("≥", 0.85),
    "psnr": ("≥", 26.0),
    "depth_mae": ("≤", 0.01),
    "mixing_changed": ("≤", 0.02),
    "mixing_psnr": ("≤", 20.0),
}
LATENCY_TARGETS = {
    "preview_seconds": 0.25,
    "full_view_seconds": 1.0,
    "three_views_seconds": 2.5,
}


def _verdict(value: float, rule: tuple[str, float]) -> str:
    sign, bound = rule
    ok = value >= bound if sign == "≥" else value <= bound
    return f"{sign} {bound:g} {'✓' if ok else '✗'}"


def fidelity_section(
    summary: dict, latency: ServingLatency, model: str, machine: str, date: str, command: str
) -> str:
    """Markdown body of the benchmark section: targets, per-view table, class IoU, speed."""
    views = summary["views"]
    faces = summary["faces"]
    lines = [
        "",
        f"Model `{model}` against its synthface teacher on {len(faces)} held-out faces "
        f"(seeds {faces[0]}…{faces[-1]}) × views {', '.join(views)}, deterministic rendering "
        "at the neural rendering resolution. Machine: "
        f"{machine}. Date: {date}. Command: `{command}`.",
        "",
        "| metric | " + " | ".join(views) + " | all | target |",
        "|---|" + "---|" * (len(views) + 2),
    ]
    labels = {
        "miou": "base15 mIoU",
        "psnr": "raw RGB PSNR (dB)",
        "depth_mae": "foreground depth MAE (world units)",
        "mixing_changed": "mixing: base15 pixels changed",
        "mixing_psnr": "mixing: RGB PSNR between renders (dB)",
    }
    for key, label in labels.items():
        cells = [f"{summary['per_view'][v][key]:.4g}" for v in views]
        overall = summary["overall"][key]
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | **{overall:.4g}** | "
            f"{_verdict(overall, TARGETS[key])} |"
        )
    lines += ["", "Per-class IoU (pooled over all images):", ""]
    names = list(summary["class_iou"])
    lines.append("| " + " | ".join(names) + " |")
    lines.append("|" + "---|" * len(names))
    lines.append("| " + " | ".join(f"{summary['class_iou'][n]:.3f}" for n in names) + " |")
    lines += [
        "",
        "CPU/GPU latency (median wall-clock after a warm-up; planes synthesised each time "
        "unless cached):",
        "",
        "| render | seconds | target |",
        "|---|---|---|",
    ]
    for key, label in [
        ("preview_seconds", "64² preview + super-resolution"),
        ("full_view_seconds", "full view (mask + RGB) + super-resolution"),
        ("three_views_seconds", "three full views"),
        ("cached_preview_seconds", "64² preview + SR from cached planes"),
    ]:
        value = getattr(latency, key)
        target = LATENCY_TARGETS.get(key)
        verdict = _verdict(value, ("≤", target)) if target else "—"
        lines.append(f"| {label} | {value:.3f} | {verdict} |")
    return "\n".join(lines) + "\n"


DESCRIPTION = (
    "Render held-out faces START … START+COUNT−1 at the views with the model and the "
    "synthface teacher; report base15 mIoU, RGB PSNR, depth MAE, mixing stability and "
    "serving latency (benchmarks.md §1)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL_PATH, help="checkpoint folder")
    parser.add_argument("--faces", type=seed_range, default="0:50", help="START:COUNT (0:50)")
    parser.add_argument("--views", type=name_list, default="front,left,right", help="named views")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per latency figure")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--json", help="write the figures as JSON here")
    parser.add_argument("--markdown", help="Markdown file whose section to update")
    parser.add_argument(
        "--contact-sheet", help="write a teacher-vs-model PNG of the first three faces here"
    )


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ffedit.io.checkpoint import load_generator
    from ffedit.io.errors import CheckpointError

    try:
        generator = load_generator(args.model, resolve_device(args.device))
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    seeds = args.faces
    results = [
        face_fidelity(generator, seed, seeds[(i + 1) % len(seeds)], args.views)
        for i, seed in enumerate(tqdm(seeds, desc="faces", unit="face"))
    ]
    summary = summarize(results, args.views)
    if args.contact_sheet:
        from ffedit.io.images import save_png

        save_png(args.contact_sheet, comparison_sheet(generator, seeds[:3], args.views))
    latency = serving_latency(generator, args.repeats)
    run_stamp = report.stamp("generator", args)
    if args.json:
        payload = summary | {"latency": dataclasses.asdict(latency), "command": run_stamp.command}
        report.write_json(args.json, payload, indent=2, strict=False)
    body = fidelity_section(
        summary, latency, args.model, run_stamp.machine, run_stamp.date, run_stamp.command
    )
    report.publish(body, args.markdown, SECTION_TITLE)
    return 0
