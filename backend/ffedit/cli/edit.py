"""`ffedit edit`: optimise a face's latent toward a painted mask and write the edited face."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ffedit.cli.common import (
    RENDER_CHUNK_RAYS,
    layout_generator,
    set_torch_threads,
)
from ffedit.config import DEFAULT_MODEL_PATH

EDIT_ORBIT_FRAMES = 60
"""Frames of the orbit video `ffedit edit` writes (NeRFFaceEditing's orbit, one loop)."""


def register_edit(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "edit",
        help="edit a face in 3D toward a painted mask (FFaceNeRF's latent optimisation)",
        description="Optimise a face's latent so that its mask at VIEW becomes the target mask "
        "(a PNG in the layout's colours or indices, at the model's neural rendering "
        "resolution), and write the edited face (the bundle the app's export holds too): RGB, "
        "mask and overlay at front/left/right (views/), an orbit video (MP4, or GIF without "
        "ffmpeg), the edited ws (ws.safetensors: ws, "
        "source_ws for undo, the appearance lock) and edit.json. Pass OUT/ws.safetensors as "
        "--face to edit the result again.",
    )
    parser.add_argument(
        "--face",
        required=True,
        help="a seed (integer), a latent z (.npy, as `ffedit synthface export` writes), or "
        "the ws.safetensors of a previous edit",
    )
    parser.add_argument("--view", default="front", help="view the mask is painted at (front)")
    parser.add_argument("--layout", required=True, help="layout of the target mask")
    parser.add_argument("--target", required=True, help="target mask PNG")
    parser.add_argument("--out", required=True, help="folder to write (replaced)")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL_PATH, help=f"generator ({DEFAULT_MODEL_PATH})"
    )
    parser.add_argument(
        "--adapter", help="adapter folder (default: MODEL/adapters/LAYOUT; none for base15)"
    )
    parser.add_argument("--steps", type=int, default=100, help="optimisation steps (100)")
    parser.add_argument("--overlap-weight", type=float, default=0.5, help="λ of the Dice loss")
    parser.add_argument("--seed", type=int, default=0, help="seed of the offset and ray draws")
    parser.add_argument(
        "--full-frame", action="store_true", help="render every pixel each step (slow)"
    )
    parser.add_argument(
        "--lpips-weights", help="LPIPS-VGG weights file on disk (implies --full-frame)"
    )
    parser.add_argument(
        "--orbit-frames",
        type=int,
        default=EDIT_ORBIT_FRAMES,
        help=f"frames of the orbit video, 0 for none ({EDIT_ORBIT_FRAMES})",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.set_defaults(func=_edit)


def _edit_adapter(model: str, layout_name: str, folder: str | None, generator):
    """(adapter or None, layout, adapter folder or None) for an edit: the adapter checkpoint
    of the layout (--adapter, or the model's), or the generator's own segmentation for its
    base layout when the model has no adapter of it (`seg_head_folder`)."""
    from ffedit.io.adapters import NoSegHead, layout_adapter_folder, load_adapter, seg_head_folder
    from ffedit.io.errors import CheckpointError
    from ffedit.layouts import BASE_LAYOUT, get_layout

    path = Path(folder) if folder else layout_adapter_folder(model, layout_name)
    base_classes = get_layout(BASE_LAYOUT).num_classes if folder is None else None
    try:
        found = seg_head_folder(path, layout_name, base_classes, generator.config)
    except NoSegHead:
        raise CheckpointError(
            f"no adapter for layout {layout_name!r} at {path}: train one with `ffedit "
            f"train-layout --layout {layout_name} --samples … --out {path}` or pass --adapter"
        ) from None
    if found is None:
        return None, get_layout(BASE_LAYOUT), None
    saved = load_adapter(found, generator.device, generator.config)
    if saved.layout.name != layout_name:
        raise CheckpointError(
            f"the adapter at {found} predicts layout {saved.layout.name!r}, not {layout_name!r}"
        )
    return saved.adapter, saved.layout, found


def _edit_source(face: str, generator):
    """(ws (num_ws, w_dim), plane stats or None) of --face: a seed, a z .npy or a ws file."""
    import numpy as np
    import torch

    from ffedit.generator import ws_from_seed, ws_from_z
    from ffedit.generator.planes import PlaneStatistics
    from ffedit.io.tensors import load_tensors

    if face.lstrip("-").isdigit():
        return ws_from_seed(generator, int(face)), None
    path = Path(face)
    if not path.is_file():
        raise ValueError(f"--face {face!r} is neither a seed nor an existing file")
    device = generator.device
    if path.suffix == ".npy":
        z = torch.from_numpy(np.load(path, allow_pickle=False)).float().reshape(-1)
        if len(z) != generator.config.z_dim:
            raise ValueError(
                f"{path} holds {len(z)} values; the model's z has {generator.config.z_dim}"
            )
        return ws_from_z(generator, z), None
    tensors = load_tensors(path)
    expected = (generator.config.num_ws, generator.config.w_dim)
    if "ws" not in tensors or tuple(tensors["ws"].shape) != expected:
        raise ValueError(f"{path} has no ws of shape {expected} (write it with `ffedit edit`)")
    stats = None
    if "plane_mean" in tensors and "plane_std" in tensors:
        stats = PlaneStatistics(tensors["plane_mean"].to(device), tensors["plane_std"].to(device))
    return tensors["ws"].to(device), stats


def _edit(args: argparse.Namespace) -> int:
    import json

    import numpy as np
    import torch
    from tqdm import tqdm

    from ffedit.camera import NAMED_VIEWS, named_camera
    from ffedit.device import resolve_device
    from ffedit.edit import EditConfig, optimize_latent
    from ffedit.edit import views as edit_views
    from ffedit.edit.optimize import check_target
    from ffedit.io.bundle import BUNDLE_VIEWS, folder_sink, write_face_bundle
    from ffedit.io.errors import CheckpointError
    from ffedit.io.files import atomic_folder, atomic_write_bytes
    from ffedit.io.lpips import load_lpips
    from ffedit.io.tensors import save_tensors
    from ffedit.layouts import InvalidMask, UnknownLayout, labels_from_png

    set_torch_threads(args.threads)
    device = resolve_device(args.device)
    try:
        if args.view not in NAMED_VIEWS:
            raise ValueError(f"unknown view {args.view!r}; known views: {', '.join(NAMED_VIEWS)}")
        config = EditConfig(
            steps=args.steps,
            overlap_weight=args.overlap_weight,
            seed=args.seed,
            full_frame=args.full_frame or args.lpips_weights is not None,
            lpips_weights=args.lpips_weights,
        )
        # LPIPS loads before the model, so that a bad weights file fails at once
        lpips = None if config.lpips_weights is None else load_lpips(config.lpips_weights)
        generator = layout_generator(args.model, device)
        adapter, layout, adapter_folder = _edit_adapter(
            args.model, args.layout, args.adapter, generator
        )
        resolution = generator.config.neural_rendering_resolution
        labels = labels_from_png(Path(args.target).read_bytes(), layout)
        target = check_target(torch.from_numpy(labels), resolution, layout.num_classes)
        ws, plane_stats = _edit_source(args.face, generator)
    except (ValueError, OSError, CheckpointError, UnknownLayout, InvalidMask) as error:
        where = f"{args.target}: " if isinstance(error, InvalidMask) else ""
        print(f"error: {where}{error}", file=sys.stderr)
        return 1
    with tqdm(total=config.steps, desc="edit", unit="step") as bar:

        def on_step(step, total, losses, current_ws):
            bar.update(1)
            bar.set_postfix(loss=f"{losses['total']:.3f}", ce=f"{losses['cross_entropy']:.3f}")

        result = optimize_latent(
            generator,
            adapter,
            ws,
            named_camera(args.view).to(device),
            target.to(device),
            config,
            on_step,
            plane_stats=plane_stats,
            lpips=lpips,
        )
    renders = edit_views.render_views(
        generator,
        adapter,
        result.ws,
        result.plane_stats,
        layout,
        BUNDLE_VIEWS,
        chunk_rays=RENDER_CHUNK_RAYS,
    )
    with atomic_folder(args.out) as staging:
        save_tensors(
            staging / "ws.safetensors",
            {
                "ws": result.ws,
                "source_ws": result.source_ws,
                "plane_mean": result.plane_stats.mean,
                "plane_std": result.plane_stats.std,
            },
        )
        frames = None
        if args.orbit_frames > 0:
            frames = edit_views.orbit_frames(
                generator, result.ws, result.plane_stats, args.orbit_frames, RENDER_CHUNK_RAYS
            )
            frames = tqdm(frames, total=args.orbit_frames, desc="orbit", unit="frame")
        video = write_face_bundle(folder_sink(staging), renders, layout, frames, {})
        record = {
            "face": args.face,
            "view": args.view,
            "layout": layout.name,
            "target": str(args.target),
            "model": str(args.model),
            "adapter": None if adapter_folder is None else str(adapter_folder),
            "config": config.to_dict(),
            "steps": result.steps,
            "seconds": result.seconds,
            "target_pixel_accuracy": float((result.masks.cpu() == target).float().mean()),
            "video": video,
            "losses": list(result.losses),
        }
        atomic_write_bytes(staging / "edit.json", (json.dumps(record, indent=1) + "\n").encode())
    accuracy = record["target_pixel_accuracy"]
    print(
        f"wrote {args.out} ({result.steps} steps in {result.seconds:.1f} s; target pixel "
        f"accuracy {100 * accuracy:.1f} %; {np.count_nonzero(result.masks.cpu() != target)} "
        "pixels differ)"
    )
    return 0
