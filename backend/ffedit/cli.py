"""The `ffedit` command: one subcommand per capability, each registered by a small function.

Subcommands parse arguments, call the core, and turn `on_step` callbacks into tqdm progress
bars; they hold no model logic of their own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

Registrar = Callable[[argparse._SubParsersAction], None]


def build_parser(registrars: list[Registrar]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ffedit", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for register in registrars:
        register(subparsers)
    return parser


def _register_import_checkpoint(subparsers: argparse._SubParsersAction) -> None:
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


DEFAULT_RENDER_PRESET = "tiny"
"""Preset `ffedit render` uses without --preset/--checkpoint (until a shipped model exists)."""
RENDER_CHUNK_RAYS = 4096
"""Rays per volume-rendering pass in the CLI: bounds memory, same result."""


def _resolve_device(name: str):
    """'auto' → cuda if available, else cpu; any other name is passed to torch.device."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _register_render(subparsers: argparse._SubParsersAction) -> None:
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


def _load_cli_generator(preset: str | None, checkpoint: str | None, device):
    """A checkpoint's generator, or a preset's with random weights (weight seed 0)."""
    import torch

    from ffedit.generator import PRESETS, TriplaneGenerator

    if checkpoint is not None:
        from ffedit.io.checkpoint import load_generator

        return load_generator(checkpoint, device)
    name = preset or DEFAULT_RENDER_PRESET
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}")
    torch.manual_seed(0)
    return TriplaneGenerator(PRESETS[name]).eval().to(device)


def _render(args: argparse.Namespace) -> int:
    import torch

    from ffedit.camera import named_camera
    from ffedit.generator import uint8_image
    from ffedit.io.errors import CheckpointError
    from ffedit.io.images import save_png

    device = _resolve_device(args.device)
    try:
        generator = _load_cli_generator(args.preset, args.checkpoint, device)
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


def _register_bench(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure quality and speed; results can be written to docs/benchmarks.md",
    )
    benchmarks = parser.add_subparsers(dest="benchmark", required=True)
    for register in _bench_registrars():
        register(benchmarks)


def _register_bench_render(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render",
        help="median latency of one deterministic render, with and without super-resolution",
        description="Time the tri-planes, the volume render and the super-resolved render of "
        "one face (random weights of a preset; median after a warm-up), print them, and "
        "optionally replace this configuration's row in the 'Render latency' section of a "
        "Markdown file.",
    )
    parser.add_argument("--preset", default="nerffaceediting-ffhq512", help="generator preset")
    parser.add_argument(
        "--resolution", type=int, help="neural rendering resolution (default: the preset's)"
    )
    parser.add_argument(
        "--samples", help="coarse,importance samples per ray, e.g. 48,48 (default: the preset's)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (default 5)")
    parser.add_argument(
        "--chunk-rays", type=int, default=RENDER_CHUNK_RAYS, help="rays per rendering pass"
    )
    parser.add_argument("--markdown", help="Markdown file whose 'Render latency' section to update")
    parser.set_defaults(func=_bench_render)


def _bench_render(args: argparse.Namespace) -> int:
    import datetime

    from ffedit.generator import PRESETS
    from ffedit.generator import benchmark as bench

    if args.preset not in PRESETS:
        known = ", ".join(PRESETS)
        print(f"error: unknown preset {args.preset!r}; known presets: {known}", file=sys.stderr)
        return 1
    config = PRESETS[args.preset]
    coarse, importance = config.render.depth_resolution, config.render.depth_resolution_importance
    if args.samples is not None:
        try:
            coarse, importance = (int(part) for part in args.samples.split(","))
        except ValueError:
            message = f"error: --samples takes two integers like 48,48, not {args.samples!r}"
            print(message, file=sys.stderr)
            return 1
    config = bench.with_samples(config, coarse, importance)
    resolution = args.resolution or config.neural_rendering_resolution
    device = _resolve_device(args.device)
    latency = bench.measure_render_latency(
        config, device, resolution=resolution, repeats=args.repeats, chunk_rays=args.chunk_rays
    )
    command = (
        f"ffedit bench render --preset {args.preset} --resolution {resolution} "
        f"--samples {coarse},{importance} --device {args.device} --repeats {args.repeats} "
        f"--chunk-rays {args.chunk_rays}"
        + (f" --markdown {args.markdown}" if args.markdown else "")
    )
    print(f"{args.preset} on {bench.describe_device(device)}, {resolution}², {coarse}+{importance}")
    print(f"  planes:      {latency.planes_seconds:.3f} s")
    print(f"  volume:      {latency.volume_seconds:.3f} s (planes + volume rendering)")
    print(f"  + SR:        {latency.full_seconds:.3f} s (whole render, super-resolved)")
    print(f"  peak memory: {latency.peak_memory_bytes / 2**30:.2f} GiB")
    if args.markdown:
        from ffedit.io.markdown import read_markdown_section, write_markdown_section

        row = bench.latency_row(
            preset=args.preset,
            device=bench.describe_device(device),
            resolution=resolution,
            samples=(coarse, importance),
            chunk_rays=args.chunk_rays,
            latency=latency,
            machine=bench.describe_machine(),
            date=datetime.date.today().isoformat(),
            command=command,
        )
        previous = read_markdown_section(args.markdown, bench.SECTION_TITLE)
        body = bench.latency_section(previous, row)
        print(f"updated {write_markdown_section(args.markdown, bench.SECTION_TITLE, body)}")
    return 0


def _bench_registrars() -> list[Registrar]:
    """Every `ffedit bench …` benchmark's registrar."""
    return [_register_bench_render]


def _registrars() -> list[Registrar]:
    """Every subcommand's registrar; imports stay lazy so `ffedit --help` is fast."""
    return [_register_import_checkpoint, _register_render, _register_bench]


def main(argv: list[str] | None = None) -> int:
    args = build_parser(_registrars()).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
