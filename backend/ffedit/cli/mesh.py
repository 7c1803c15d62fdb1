"""`ffedit mesh`: a face's surface as a GLB or PLY file, each vertex with its colour and its
class in a layout (the app's mesh download, without a server)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ffedit.config import DEFAULT_MODEL_PATH

SUFFIX_FORMATS = {".glb": "glb", ".ply": "ply"}


def register_mesh(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mesh",
        help="write a face's surface as a GLB or PLY mesh with vertex colours and classes",
        description="Marching cubes on the generator's density (the space the app's views "
        "render), each vertex with its colour and its class in --layout (the generator's own "
        "base15, or the layout's adapter: the model's or --adapter), written as glTF binary "
        "(.glb: attribute _CLASS) or binary PLY (.ply: vertex property `class`).",
    )
    parser.add_argument(
        "--face", default="0", help="a seed, a z .npy or a ws .safetensors (`ffedit edit`)"
    )
    parser.add_argument("--layout", default="base15", help="layout of the classes (base15)")
    parser.add_argument("--adapter", help="adapter folder of the layout (default: the model's)")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL_PATH, help=f"generator ({DEFAULT_MODEL_PATH})"
    )
    parser.add_argument("--grid", type=int, help="lattice points a side (default: the app's, 128)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--out", required=True, help="file to write: .glb or .ply")
    parser.set_defaults(func=_mesh)


def _mesh(args: argparse.Namespace) -> int:
    import torch

    from ffedit.cli.edit import _edit_adapter, _edit_source
    from ffedit.device import resolve_device
    from ffedit.io.errors import CheckpointError
    from ffedit.io.files import atomic_write_bytes
    from ffedit.io.meshes import mesh_bytes
    from ffedit.mesh import EmptySurface, InvalidMeshRequest, MeshSettings, extract_mesh

    out = Path(args.out)
    file_format = SUFFIX_FORMATS.get(out.suffix.lower())
    try:
        if file_format is None:
            raise ValueError(f"--out must end in .glb or .ply, not {out.name!r}")
        settings = MeshSettings() if args.grid is None else MeshSettings(grid=args.grid)
        from ffedit.io.checkpoint import load_generator

        generator = load_generator(args.model, resolve_device(args.device))
        head, layout, _ = _edit_adapter(args.model, args.layout, args.adapter, generator)
        ws, plane_stats = _edit_source(args.face, generator)
        with torch.no_grad():
            planes = generator.synthesize_planes(ws[None])
        mesh = extract_mesh(generator, planes, settings, head, plane_stats)
    except (ValueError, CheckpointError, InvalidMeshRequest, EmptySurface) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    atomic_write_bytes(out, mesh_bytes(mesh, layout, file_format))
    print(
        f"wrote {out} ({len(mesh.vertices)} vertices, {len(mesh.faces)} triangles, layout "
        f"{layout.name}, grid {settings.grid}³)"
    )
    return 0
