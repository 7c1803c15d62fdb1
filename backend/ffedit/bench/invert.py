"""`ffedit bench invert`: photo inversion against synthface's exact ground truth.

Held-out synthface faces are rendered as "photos" from a random yaw and pitch the inverter
is not told (and, in the jittered set, with a random zoom and off-centre crop, drawn into the
intrinsics so the photo stays exact); each photo goes through the app's whole path
(`invert_photo`: MTCNN landmarks, camera fit, crop, inversion). Measured per stage (w, W+):

- yaw and pitch error (degrees) of the inverted camera against the true one;
- PSNR and SSIM of the raw render at the inverted camera against the aligned crop;
- at the **unseen** named views (standard cameras): base15 mIoU of the composited logits and
  raw RGB PSNR against synthface's exact render of the same face, the 3D test an inversion
  of a real photo cannot give. The `oracle` row is the generator's own mapping of the true z
  (the distillation's fidelity, a ceiling for the inversion);
- wall-clock seconds per photo (detection, fit and inversion).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from dataclasses import dataclass

import torch

from ffedit.bench import report
from ffedit.camera import fov_to_intrinsics, look_at_poses, named_camera, pack_cameras
from ffedit.cli.common import name_list, seed_range
from ffedit.config import DEFAULT_MODEL_PATH
from ffedit.device import resolve_device
from ffedit.generator import TriplaneGenerator, uint8_tensor
from ffedit.invert import InversionConfig, invert_photo
from ffedit.invert.losses import image_ssim, psnr
from ffedit.invert.optimize import cameras_from_parameters
from ffedit.invert.tuning import TuningConfig, tune_generator, tuned_render
from ffedit.layouts import BASE_LAYOUT, get_layout, labels_from_fine
from ffedit.layouts.metrics import iou_table, mean_iou
from ffedit.photo import PhotoError
from ffedit.synthface import face_from_latent, latent_from_seed, render_face

DESCRIPTION = __doc__
SECTION_TITLE = "Photo inversion vs synthface ground truth (`ffedit bench invert`)"
STAGES = ("w", "W+", "W+ tuned")


@dataclass(frozen=True)
class PhotoCase:
    """One synthetic photo: its face, true camera and crop jitter."""

    seed: int
    yaw: float
    pitch: float
    log_zoom: float
    shift_x: float
    shift_y: float


def photo_cases(
    seeds: list[int], jitter: bool, draw_seed: int, max_yaw: float, max_pitch: float
) -> list[PhotoCase]:
    """A random (seeded) camera per face; zoom within ±10 %, shift within ±5 % if `jitter`."""
    rng = random.Random(draw_seed)
    cases = []
    for seed in seeds:
        yaw = math.pi / 2 + rng.uniform(-max_yaw, max_yaw)
        pitch = math.pi / 2 + rng.uniform(-max_pitch, max_pitch)
        zoom, sx, sy = (rng.uniform(-0.1, 0.1), rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05))
        if not jitter:
            zoom = sx = sy = 0.0
        cases.append(PhotoCase(seed, yaw, pitch, zoom, sx, sy))
    return cases


def photo_camera(case: PhotoCase) -> torch.Tensor:
    """(25,) camera of the photo: the true pose with the jittered intrinsics."""
    intrinsics = fov_to_intrinsics().clone()
    intrinsics[:2, :2] *= math.exp(case.log_zoom)
    intrinsics[0, 2] += case.shift_x
    intrinsics[1, 2] += case.shift_y
    pose = look_at_poses(torch.tensor([case.yaw]), torch.tensor([case.pitch]))
    return pack_cameras(pose, intrinsics)[0]


def unseen_scores(
    generator: TriplaneGenerator, ws: torch.Tensor, seed: int, views: list[str], delta=None
) -> tuple[float, float]:
    """(base15 mIoU, mean raw RGB PSNR) of ws (with a tuning delta) against synthface's face
    `seed` at views."""
    cameras = torch.stack([named_camera(view) for view in views])
    resolution = generator.config.neural_rendering_resolution
    truth = render_face(face_from_latent(latent_from_seed(seed)[None]), cameras, resolution)
    labels_true = labels_from_fine(truth.fine_labels, get_layout(BASE_LAYOUT))
    device = generator.device
    with torch.no_grad():
        output = tuned_render(
            generator, delta or {}, ws.to(device).expand(len(views), -1, -1), cameras.to(device)
        )
    labels = output.seg_logits.argmax(1).cpu()
    miou = mean_iou(iou_table(labels, labels_true, generator.config.seg_classes))
    rgb = output.rgb_raw.cpu()
    return miou, sum(psnr(rgb[v], truth.rgb[v]) for v in range(len(views))) / len(views)


def input_view_scores(
    generator: TriplaneGenerator, ws: torch.Tensor, camera: tuple, crop: torch.Tensor, delta=None
) -> tuple[float, float]:
    """(PSNR, SSIM) of the raw render (with a tuning delta) at the inverted camera against
    the aligned crop."""
    device = generator.device
    with torch.no_grad():
        cameras = cameras_from_parameters(torch.tensor(list(camera), dtype=torch.float32))
        render = tuned_render(generator, delta or {}, ws.to(device), cameras.to(device))
        render = render.rgb_raw.cpu()
    return psnr(render[0], crop), float(image_ssim(render, crop[None])[0])


def measure_case(
    generator,
    mtcnn,
    case: PhotoCase,
    config: InversionConfig,
    views,
    photo_resolution: int,
    tuning: TuningConfig | None = None,
) -> dict:
    """Figures of one photo (rendered at photo_resolution²): detection, and per stage the
    camera error and image scores."""
    resolution = photo_resolution
    face = face_from_latent(latent_from_seed(case.seed)[None])
    photo_rgb = render_face(face, photo_camera(case)[None], resolution).rgb[0]
    photo = uint8_tensor(photo_rgb)
    start = time.perf_counter()
    try:
        inversion = invert_photo(generator, mtcnn, photo, config)
    except PhotoError as error:
        return {"seed": case.seed, "detected": False, "reason": str(error)}
    seconds = time.perf_counter() - start
    crop = inversion.aligned.crop
    figures = {"seed": case.seed, "detected": True, "seconds": seconds}
    result = inversion.result
    stages = [("w", result.w_ws, result.w_camera, None), ("W+", result.ws, result.camera, None)]
    if tuning is not None:
        tuned = tune_generator(generator, crop, result.ws, tuple(result.camera), tuning, config)
        figures["tuning_seconds"] = tuned.seconds
        stages.append(("W+ tuned", result.ws, result.camera, tuned.delta))
    for stage, ws, camera, delta in stages:
        input_psnr, input_ssim = input_view_scores(generator, ws, camera, crop, delta)
        miou, unseen_psnr = unseen_scores(generator, ws, case.seed, views, delta)
        figures[stage] = {
            "yaw_error": abs(math.degrees(camera.yaw - case.yaw)),
            "pitch_error": abs(math.degrees(camera.pitch - case.pitch)),
            "input_psnr": input_psnr,
            "input_ssim": input_ssim,
            "unseen_miou": miou,
            "unseen_psnr": unseen_psnr,
        }
    fit = inversion.aligned.fit
    figures["landmark_fit"] = {
        "yaw_error": abs(math.degrees(fit.yaw - case.yaw)),
        "pitch_error": abs(math.degrees(fit.pitch - case.pitch)),
    }
    return figures


def oracle_scores(generator: TriplaneGenerator, seeds: list[int], views: list[str]) -> dict:
    """Unseen-view mIoU and PSNR of the generator's mapping of the true z (the ceiling)."""
    device = generator.device
    zeros = torch.zeros(1, generator.config.c_dim, device=device)
    scores = []
    for seed in seeds:
        with torch.inference_mode():
            ws = generator.mapping(latent_from_seed(seed)[None].to(device), zeros)
        scores.append(unseen_scores(generator, ws, seed, views))
    return {
        "unseen_miou": sum(s[0] for s in scores) / len(scores),
        "unseen_psnr": sum(s[1] for s in scores) / len(scores),
    }


def _mean(rows: list[dict], stage: str, key: str) -> float:
    values = [row[stage][key] for row in rows if row["detected"]]
    return sum(values) / len(values) if values else float("nan")


def summarize(rows: list[dict]) -> dict:
    """Means over the detected photos, per stage, and the detection rate."""
    detected = [row for row in rows if row["detected"]]
    keys = ("yaw_error", "pitch_error", "input_psnr", "input_ssim", "unseen_miou", "unseen_psnr")
    summary = {
        "photos": len(rows),
        "detected": len(detected),
        "seconds": sum(r["seconds"] for r in detected) / max(1, len(detected)),
        "tuning_seconds": sum(r.get("tuning_seconds", 0.0) for r in detected)
        / max(1, len(detected)),
        "landmark_fit": {k: _mean(rows, "landmark_fit", k) for k in ("yaw_error", "pitch_error")},
    }
    for stage in STAGES:
        if all(stage in row for row in detected):
            summary[stage] = {key: _mean(rows, stage, key) for key in keys}
    return summary


def section(results: dict, oracle: dict, args, stamp: report.Stamp) -> str:
    """Markdown body: one table per photo set (exact crop, jittered crop)."""
    lines = [
        "",
        f"Model `{args.model}`; held-out synthface faces (seeds {args.faces[0]}…"
        f"{args.faces[-1]}) rendered at {args.photo_resolution}² from a random yaw within ±"
        f"{math.degrees(args.max_yaw):.0f}° and pitch within ±{math.degrees(args.max_pitch):.0f}° "
        f"of the front (draw seed {args.draw_seed}); the jittered set also zooms the crop by up "
        "to ±10 % and shifts it by up to ±5 % of its side. Each photo goes through MTCNN, the "
        f"landmark camera fit, the crop and the inversion ({args.w_steps} w steps, "
        f"{args.wplus_steps} W+ steps at {args.resolution}², then {args.tuning_steps} steps of "
        "pivotal tuning of the 32²–128² synthesis blocks and the colour decoder, kept as a "
        "per-face delta). Unseen views: "
        f"{', '.join(args.views)} (standard cameras). Machine: {stamp.machine}. Date: "
        f"{stamp.date}. Command: `{stamp.command}`.",
        "",
        "| set | stage | detected | yaw err (°) | pitch err (°) | input PSNR (dB) | input SSIM "
        "| unseen base15 mIoU | unseen RGB PSNR (dB) | s / photo |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, summary in results.items():
        detected = f"{summary['detected']}/{summary['photos']}"
        fit = summary["landmark_fit"]
        lines.append(
            f"| {name} | landmark fit | {detected} | {fit['yaw_error']:.2f} | "
            f"{fit['pitch_error']:.2f} | | | | | |"
        )
        for stage in (stage for stage in STAGES if stage in summary):
            s = summary[stage]
            seconds = summary["seconds"] + (stage == "W+ tuned") * summary["tuning_seconds"]
            lines.append(
                f"| {name} | {stage} | {detected} | {s['yaw_error']:.2f} | {s['pitch_error']:.2f} "
                f"| {s['input_psnr']:.2f} | {s['input_ssim']:.3f} | {s['unseen_miou']:.3f} "
                f"| {s['unseen_psnr']:.2f} | {seconds:.0f} |"
            )
    lines += [
        f"| oracle (G of the true z) | | | | | | | {oracle['unseen_miou']:.3f} | "
        f"{oracle['unseen_psnr']:.2f} | |",
        "",
        "Seconds per photo are wall-clock on the machine above, detection and fit included "
        "(other processes running inflate them: see its load); the tuned row adds the "
        "tuning's time.",
        "",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL_PATH, help="checkpoint folder")
    parser.add_argument("--faces", type=seed_range, default="0:10", help="START:COUNT (0:10)")
    parser.add_argument("--views", type=name_list, default="front,left,right", help="unseen views")
    parser.add_argument("--draw-seed", type=int, default=0, help="seed of the random cameras")
    parser.add_argument("--max-yaw", type=float, default=0.35, help="radians from the front")
    parser.add_argument("--max-pitch", type=float, default=0.15, help="radians from the front")
    parser.add_argument("--photo-resolution", type=int, default=256, help="photo side (256)")
    parser.add_argument("--w-steps", type=int, default=InversionConfig.w_steps)
    parser.add_argument("--wplus-steps", type=int, default=InversionConfig.wplus_steps)
    parser.add_argument("--resolution", type=int, default=InversionConfig.resolution)
    parser.add_argument(
        "--tuning-steps", type=int, default=TuningConfig.steps, help="pivotal tuning (0: none)"
    )
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--json", help="write the figures as JSON here")
    parser.add_argument("--markdown", help="Markdown file whose section to update")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ffedit.cli.common import set_torch_threads
    from ffedit.io.checkpoint import load_generator
    from ffedit.io.detector import DetectorWeightsMissing, load_mtcnn
    from ffedit.io.errors import CheckpointError

    set_torch_threads(args.threads)
    device = resolve_device(args.device)
    try:
        generator = load_generator(args.model, device)
        mtcnn = load_mtcnn(device)
    except (CheckpointError, DetectorWeightsMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    config = InversionConfig(
        w_steps=args.w_steps, wplus_steps=args.wplus_steps, resolution=args.resolution
    )
    tuning = TuningConfig(steps=args.tuning_steps) if args.tuning_steps > 0 else None
    results, rows = {}, {}
    for name, jitter in (("exact crop", False), ("jittered crop", True)):
        cases = photo_cases(args.faces, jitter, args.draw_seed, args.max_yaw, args.max_pitch)
        rows[name] = [
            measure_case(generator, mtcnn, case, config, args.views, args.photo_resolution, tuning)
            for case in tqdm(cases, desc=name, unit="photo")
        ]
        results[name] = summarize(rows[name])
    oracle = oracle_scores(generator, args.faces, args.views)
    run_stamp = report.stamp("invert", args)
    if args.json:
        report.write_json(
            args.json,
            {"summary": results, "photos": rows, "oracle": oracle, "command": run_stamp.command},
        )
    report.publish(section(results, oracle, args, run_stamp), args.markdown, SECTION_TITLE)
    return 0
