"""`ffedit render`: one face at a named view, written as a PNG."""

from __future__ import annotations

import argparse
import sys

from ffedit.cli.common import (
    DEFAULT_RENDER_PRESET,
    RENDER_CHUNK_RAYS,
    load_cli_generator,
)


def register_render(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render",
        help="render one face at a named view and write the super-resolved image as PNG",
        description="Render one face (latent z from --seed) at a named view with a preset's "
        "random weights or a checkpoint, and write the super-resolved RGB image as PNG. The "
        "mapping network is conditioned on the front camera, so every view shows the same face.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--preset", help=f"random weights of this preset (default: {DEFAULT_RENDER_PRESET})"
    )
    source.add_argument("--checkpoint", help="checkpoint folder, EG3D/NFE .pkl or FFaceNeRF .pth")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent z (default 0)")
    parser.add_argument("--view", default="front", help="front, left or right (default front)")
    parser.add_argument(
        "--truncation", type=float, default=1.0, help="truncation ψ toward w_avg (default 1)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.set_defaults(func=_render)


def _render(args: argparse.Namespace) -> int:
    import torch

    from ffedit.camera import named_camera
    from ffedit.device import resolve_device
    from ffedit.generator import uint8_image
    from ffedit.io.errors import CheckpointError
    from ffedit.io.images import save_png

    device = resolve_device(args.device)
    try:
        generator = load_cli_generator(args.preset, args.checkpoint, device)
        camera = named_camera(args.view)[None].to(device)
    except (KeyError, CheckpointError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 1
    z = torch.randn(1, generator.config.z_dim, generator=torch.Generator().manual_seed(args.seed))
    with torch.inference_mode():
        ws = generator.mapping(
            z.to(device), named_camera("front")[None].to(device), truncation_psi=args.truncation
        )
        output = generator.render(ws, camera, chunk_rays=RENDER_CHUNK_RAYS)
    path = save_png(args.out, uint8_image(output.image[0]))
    size = output.image.shape[-1]
    print(f"wrote {path} ({size}×{size}, seed {args.seed}, view {args.view}, {device.type})")
    return 0
