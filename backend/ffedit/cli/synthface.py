"""`ffedit synthface export|show`: datasets and contact sheets of the procedural face world."""

from __future__ import annotations

import argparse
import sys

from ffedit.cli.common import name_list, seed_range, synthface_setup


def register_synthface(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synthface",
        help="the procedural 3D face world: export datasets, draw contact sheets",
        description="synthface faces with exact masks (see docs/synthface.md).",
    )
    commands = parser.add_subparsers(dest="synthface_command", required=True)
    export = commands.add_parser(
        "export",
        help="write a dataset: latents, cameras, RGB PNGs, indexed-PNG masks, JSON manifest",
        description="Render faces (seeds START … START+COUNT−1) at named views and write a "
        "dataset folder: per face its latent, per view the RGB PNG, the fine labels and one "
        "indexed-PNG mask per layout; cameras and paths in manifest.json (docs/synthface.md).",
    )
    export.add_argument("--faces", type=seed_range, default="0:10", help="START:COUNT (0:10)")
    export.add_argument("--views", type=name_list, default="front,left,right", help="named views")
    export.add_argument(
        "--layouts", type=name_list, help="layouts (default: the base layout, base15)"
    )
    export.add_argument("--resolution", type=int, default=128, help="image side (128)")
    export.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    export.add_argument("out", help="dataset folder to create (must not exist or be empty)")
    export.set_defaults(func=_synthface_export)
    show = commands.add_parser(
        "show",
        help="write a contact sheet PNG: one row per face, RGB then masks at each view",
    )
    show.add_argument("--faces", type=seed_range, default="0:6", help="START:COUNT (0:6)")
    show.add_argument("--views", type=name_list, default="front,left,right", help="named views")
    show.add_argument("--layout", default="base17", help="layout of the masks (base17)")
    show.add_argument("--resolution", type=int, default=128, help="tile side (128)")
    show.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    show.add_argument("--out", required=True, help="PNG file to write")
    show.set_defaults(func=_synthface_show)


def _synthface_export(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from tqdm import tqdm

    from ffedit.io.files import atomic_folder, atomic_write_bytes
    from ffedit.io.images import save_png
    from ffedit.layouts import BASE_LAYOUT, UnknownLayout
    from ffedit.synthface.dataset import face_folder, face_samples, manifest, npy_bytes

    args.layouts = args.layouts or [BASE_LAYOUT]
    try:
        layouts = synthface_setup(args.views, args.layouts, args.threads)
    except (KeyError, UnknownLayout) as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        print(f"error: {out} exists and is not an empty folder", file=sys.stderr)
        return 1
    faces = args.faces
    command = (
        f"ffedit synthface export --faces {faces[0]}:{len(faces)} --views {','.join(args.views)} "
        f"--layouts {','.join(args.layouts)} --resolution {args.resolution} {args.out}"
    )
    with atomic_folder(out) as staging:
        samples = face_samples(faces, args.views, args.resolution, layouts)
        for sample in tqdm(samples, total=len(faces), desc="faces", unit="face"):
            folder = staging / face_folder(sample.seed)
            atomic_write_bytes(folder / "latent.npy", npy_bytes(sample.latent))
            for view in sample.views:
                save_png(folder / view.view / "rgb.png", view.rgb)
                atomic_write_bytes(folder / view.view / "fine.png", view.fine_png)
                for name, data in view.mask_pngs.items():
                    atomic_write_bytes(folder / view.view / f"mask_{name}.png", data)
        document = manifest(faces, args.views, args.resolution, layouts, command)
        atomic_write_bytes(staging / "manifest.json", json.dumps(document, indent=1).encode())
    print(f"wrote {out} ({len(faces)} faces × {len(args.views)} views)")
    return 0


def _synthface_show(args: argparse.Namespace) -> int:
    import torch

    from ffedit.camera import named_camera
    from ffedit.io.images import save_png
    from ffedit.layouts import UnknownLayout
    from ffedit.synthface import faces_from_seeds
    from ffedit.synthface.sheet import contact_sheet

    try:
        (layout,) = synthface_setup(args.views, [args.layout], args.threads)
    except (KeyError, UnknownLayout) as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    cameras = torch.stack([named_camera(view) for view in args.views])
    sheet = contact_sheet(faces_from_seeds(args.faces), cameras, args.resolution, layout)
    path = save_png(args.out, sheet)
    print(f"wrote {path} ({len(args.faces)} faces, views {','.join(args.views)}, {layout.name})")
    return 0
