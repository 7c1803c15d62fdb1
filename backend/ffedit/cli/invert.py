"""`ffedit invert`: a photo to an editable face (detection, camera fit, crop, w and W+)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ffedit.cli.common import RENDER_CHUNK_RAYS, layout_generator, set_torch_threads
from ffedit.config import DEFAULT_MODEL_PATH


def register_invert(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "invert",
        help="bring a photo in: detect the face, fit the camera, invert it (w, then W+)",
        description="Detect the one face of PHOTO (JPEG or PNG) and its five landmarks "
        "(MTCNN), fit the generator's camera and crop to them, and invert the crop: one w "
        "from the average, then W+, the camera refined jointly. Writes to OUT: ws.safetensors "
        "(ws = the W+ latent, w_ws = the w stage's; pass it to `ffedit edit --face`), "
        "aligned.png (the crop the inversion saw), input-view.png (the crop beside the render "
        "at the inverted camera), views/ (RGB, base15 mask and overlay at front/left/right) "
        "and invert.json (camera, landmarks, settings, losses).",
    )
    parser.add_argument("photo", help="JPEG or PNG photo with one face")
    parser.add_argument("--out", required=True, help="folder to write (replaced)")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL_PATH, help=f"generator ({DEFAULT_MODEL_PATH})"
    )
    # defaults (None) are InversionConfig's, so that `ffedit --help` needs no torch
    parser.add_argument("--w-steps", type=int, help="w stage steps (150)")
    parser.add_argument("--wplus-steps", type=int, help="W+ stage steps, 0 for w only (150)")
    parser.add_argument("--resolution", type=int, help="render side while fitting (64)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.set_defaults(func=_invert)


def _write_result(out: str, generator, inversion, config, model: str, photo: str) -> None:
    import dataclasses
    import json

    import numpy as np
    import torch

    from ffedit.edit import views as edit_views
    from ffedit.generator.images import uint8_image
    from ffedit.invert.optimize import cameras_from_parameters
    from ffedit.io.bundle import BUNDLE_VIEWS, folder_sink, write_face_bundle
    from ffedit.io.files import atomic_folder, atomic_write_bytes
    from ffedit.io.images import png_bytes
    from ffedit.io.tensors import save_tensors
    from ffedit.layouts import BASE_LAYOUT, get_layout

    result, aligned = inversion.result, inversion.aligned
    layout = get_layout(BASE_LAYOUT)
    ws = result.ws[0].to(generator.device)
    renders = edit_views.render_views(
        generator, None, ws, None, layout, BUNDLE_VIEWS, chunk_rays=RENDER_CHUNK_RAYS
    )
    camera = cameras_from_parameters(torch.tensor(list(result.camera), dtype=torch.float32))
    with torch.no_grad():
        render = generator.render(ws[None], camera.to(generator.device), super_resolve=False)
    crop_rgb = uint8_image(aligned.crop)
    side_by_side = np.concatenate([crop_rgb, uint8_image(render.rgb_raw[0])], axis=1)
    with atomic_folder(out) as staging:
        save_tensors(staging / "ws.safetensors", {"ws": result.ws[0], "w_ws": result.w_ws[0]})
        write_face_bundle(folder_sink(staging), renders, layout, None, {})
        atomic_write_bytes(staging / "aligned.png", png_bytes(crop_rgb))
        atomic_write_bytes(staging / "input-view.png", png_bytes(side_by_side))
        record = {
            "photo": photo,
            "model": model,
            "config": dataclasses.asdict(config),
            "camera": result.camera._asdict(),
            "w_camera": result.w_camera._asdict(),
            "landmark_fit": aligned.fit._asdict(),
            "face_box": aligned.box,
            "landmarks": aligned.landmarks,
            "seconds": result.seconds,
            "losses": result.losses,
        }
        atomic_write_bytes(staging / "invert.json", (json.dumps(record, indent=1) + "\n").encode())


def _invert(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from ffedit.device import resolve_device
    from ffedit.invert import InversionConfig, invert_photo
    from ffedit.io.detector import DetectorWeightsMissing, load_mtcnn
    from ffedit.io.errors import CheckpointError
    from ffedit.io.photos import read_photo

    set_torch_threads(args.threads)
    device = resolve_device(args.device)
    try:
        given = {"w_steps": args.w_steps, "wplus_steps": args.wplus_steps}
        given["resolution"] = args.resolution
        config = InversionConfig(**{k: v for k, v in given.items() if v is not None})
        photo = torch.from_numpy(read_photo(Path(args.photo).read_bytes())).permute(2, 0, 1)
        generator = layout_generator(args.model, device)
        mtcnn = load_mtcnn(device)
        with tqdm(total=config.w_steps + config.wplus_steps, desc="invert", unit="step") as bar:

            def on_step(done: int, total: int, loss: float) -> None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}")

            inversion = invert_photo(generator, mtcnn, photo.to(device), config, on_step)
    except (ValueError, OSError, CheckpointError, DetectorWeightsMissing) as error:
        print(f"error: {args.photo}: {error}", file=sys.stderr)
        return 1
    _write_result(args.out, generator, inversion, config, args.model, args.photo)
    camera = inversion.result.camera
    print(
        f"wrote {args.out} (yaw {camera.yaw:.3f}, pitch {camera.pitch:.3f} rad; "
        f"{inversion.result.seconds:.1f} s)"
    )
    return 0
