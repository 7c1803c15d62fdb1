"""`ffedit import-checkpoint`: convert an EG3D/NeRFFaceEditing or FFaceNeRF checkpoint."""

from __future__ import annotations

import argparse
import sys


def register_import_checkpoint(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-checkpoint",
        help="convert a NeRFFaceEditing/EG3D .pkl or FFaceNeRF .pth into an ffedit checkpoint",
        description="Read the generator (G_ema) of a NeRFFaceEditing/EG3D snapshot pickle or an "
        "FFaceNeRF ckpt_*.pth without running any code stored in it, and write it as an ffedit "
        "checkpoint folder (weights.safetensors, config.json, manifest.json).",
    )
    parser.add_argument("source", help="the .pkl or .pth file")
    parser.add_argument("destination", help="checkpoint folder to create (replaced if present)")
    parser.set_defaults(func=_import_checkpoint)


def _import_checkpoint(args: argparse.Namespace) -> int:
    from ffedit.io.checkpoint import import_checkpoint
    from ffedit.io.errors import CheckpointError

    try:
        summary = import_checkpoint(args.source, args.destination)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    config = summary.config
    samples = config.render.depth_resolution + config.render.depth_resolution_importance
    print(f"wrote {summary.folder}")
    print(f"  preset matched:     {summary.preset or 'none'}")
    print(f"  parameters:         {summary.parameter_count:,}")
    print(
        f"  rendering:          {config.neural_rendering_resolution}² neural, "
        f"{config.image_resolution}² super-resolved"
    )
    print(
        f"  samples per ray:    {samples} ({config.render.depth_resolution} coarse + "
        f"{config.render.depth_resolution_importance} importance)"
    )
    print(f"  seg classes:        {config.seg_classes}")
    return 0
