"""The `ffedit` command: one subcommand per capability, each registered by a small function.

Subcommands parse arguments, call the core, and turn `on_step` callbacks into tqdm progress
bars; they hold no model logic of their own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ffedit.config import DEFAULT_MODEL_PATH, TRAIN_DEFAULT_MODEL

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
RENDER_CHUNK_RAYS = 1024
"""Rays per volume-rendering pass in the CLI: bounds memory (same result); on CPU small
chunks that stay in cache are also fastest (1024 ≈ 3× faster than all 16384 rays at once)."""


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


def _seed_range(text: str) -> list[int]:
    """'START:COUNT' → [START, …, START + COUNT − 1] (argparse type)."""
    try:
        start, count = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:COUNT, e.g. 0:200, not {text!r}"
        ) from None
    if start < 0 or count < 1:
        raise argparse.ArgumentTypeError(f"START must be ≥ 0 and COUNT ≥ 1, not {text!r}")
    return list(range(start, start + count))


def _names(text: str) -> list[str]:
    """'a,b,c' → ['a', 'b', 'c'] (argparse type)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _synthface_setup(views: list[str], layouts: list[str], threads: int | None):
    """Check view names and resolve layout names (raises KeyError/UnknownLayout); set the
    torch thread count if given (one thread is often fastest on a busy small machine)."""
    import torch

    from ffedit.camera import NAMED_VIEWS
    from ffedit.layouts import get_layout

    if threads is not None:
        torch.set_num_threads(threads)
    unknown = [view for view in views if view not in NAMED_VIEWS]
    if unknown:
        raise KeyError(f"unknown views {unknown}; known views: {', '.join(NAMED_VIEWS)}")
    return [get_layout(name) for name in layouts]


def _register_synthface(subparsers: argparse._SubParsersAction) -> None:
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
    export.add_argument("--faces", type=_seed_range, default="0:10", help="START:COUNT (0:10)")
    export.add_argument("--views", type=_names, default="front,left,right", help="named views")
    export.add_argument("--layouts", type=_names, default="base15", help="layouts (base15)")
    export.add_argument("--resolution", type=int, default=128, help="image side (128)")
    export.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    export.add_argument("out", help="dataset folder to create (must not exist or be empty)")
    export.set_defaults(func=_synthface_export)
    show = commands.add_parser(
        "show",
        help="write a contact sheet PNG: one row per face, RGB then masks at each view",
    )
    show.add_argument("--faces", type=_seed_range, default="0:6", help="START:COUNT (0:6)")
    show.add_argument("--views", type=_names, default="front,left,right", help="named views")
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
    from ffedit.layouts import UnknownLayout
    from ffedit.synthface.dataset import face_folder, face_samples, manifest, npy_bytes

    try:
        layouts = _synthface_setup(args.views, args.layouts, args.threads)
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
        (layout,) = _synthface_setup(args.views, [args.layout], args.threads)
    except (KeyError, UnknownLayout) as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    cameras = torch.stack([named_camera(view) for view in args.views])
    sheet = contact_sheet(faces_from_seeds(args.faces), cameras, args.resolution, layout)
    path = save_png(args.out, sheet)
    print(f"wrote {path} ({len(args.faces)} faces, views {','.join(args.views)}, {layout.name})")
    return 0


def _register_bench_synthface(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synthface",
        help="synthface population statistics (labels, pixel shares, accessories, box) and speed",
        description="Render faces START … START+COUNT−1 at the views, gather fine-label and "
        "layout pixel shares, accessory rates and the box check, time one view, print a "
        "summary and optionally replace the 'synthface' section of a Markdown file.",
    )
    parser.add_argument("--faces", type=_seed_range, default="0:200", help="START:COUNT (0:200)")
    parser.add_argument("--views", type=_names, default="front,left,right", help="named views")
    parser.add_argument(
        "--layouts", type=_names, default="base17,eyes19,nose19,chin20", help="layouts"
    )
    parser.add_argument("--resolution", type=int, default=128, help="image side (128)")
    parser.add_argument("--timing-faces", type=int, default=10, help="faces timed (10)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--markdown", help="Markdown file whose 'synthface' section to update")
    parser.set_defaults(func=_bench_synthface)


def _bench_synthface(args: argparse.Namespace) -> int:
    import datetime

    from tqdm import tqdm

    from ffedit.generator.benchmark import describe_machine
    from ffedit.layouts import UnknownLayout
    from ffedit.synthface import benchmark as bench

    try:
        layouts = _synthface_setup(args.views, args.layouts, args.threads)
    except (KeyError, UnknownLayout) as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    faces = args.faces
    timing_seeds = faces[: args.timing_faces]
    seconds = bench.median_render_seconds(timing_seeds, "front", args.resolution)
    with tqdm(total=len(faces), desc="faces", unit="face") as progress:
        stats = bench.population_statistics(
            faces, args.views, args.resolution, layouts, on_face=lambda _: progress.update()
        )
    command = (
        f"ffedit bench synthface --faces {faces[0]}:{len(faces)} --views {','.join(args.views)} "
        f"--layouts {','.join(args.layouts)} --resolution {args.resolution} "
        f"--timing-faces {args.timing_faces}"
        + (f" --threads {args.threads}" if args.threads is not None else "")
        + (f" --markdown {args.markdown}" if args.markdown else "")
    )
    body = bench.synthface_section(
        stats,
        seconds,
        len(timing_seeds),
        describe_machine(),
        datetime.date.today().isoformat(),
        command,
    )
    print(body)
    if args.markdown:
        from ffedit.io.markdown import write_markdown_section

        print(f"updated {write_markdown_section(args.markdown, bench.SECTION_TITLE, body)}")
    return 0


def _register_bench_generator(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generator",
        help="fidelity of a distilled generator against synthface, and its serving latency",
        description="Render held-out faces START … START+COUNT−1 at the views with the model "
        "and the synthface teacher; report base15 mIoU, RGB PSNR, depth MAE, mixing "
        "stability and serving latency (benchmarks.md §1).",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL_PATH, help="checkpoint folder")
    parser.add_argument("--faces", type=_seed_range, default="0:50", help="START:COUNT (0:50)")
    parser.add_argument("--views", type=_names, default="front,left,right", help="named views")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per latency figure")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--json", help="write the figures as JSON here")
    parser.add_argument("--markdown", help="Markdown file whose section to update")
    parser.add_argument(
        "--contact-sheet", help="write a teacher-vs-model PNG of the first three faces here"
    )
    parser.set_defaults(func=_bench_generator)


def _bench_generator(args: argparse.Namespace) -> int:
    import dataclasses
    import datetime
    import json

    from tqdm import tqdm

    from ffedit.distill import evaluate
    from ffedit.generator.benchmark import describe_machine
    from ffedit.io.checkpoint import load_generator
    from ffedit.io.errors import CheckpointError

    try:
        generator = load_generator(args.model, _resolve_device(args.device))
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    seeds = args.faces
    results = [
        evaluate.face_fidelity(generator, seed, seeds[(i + 1) % len(seeds)], args.views)
        for i, seed in enumerate(tqdm(seeds, desc="faces", unit="face"))
    ]
    summary = evaluate.summarize(results, args.views)
    if args.contact_sheet:
        from ffedit.io.images import save_png

        save_png(args.contact_sheet, evaluate.comparison_sheet(generator, seeds[:3], args.views))
    latency = evaluate.serving_latency(generator, args.repeats)
    command = (
        f"ffedit bench generator --model {args.model} --faces {seeds[0]}:{len(seeds)} "
        f"--views {','.join(args.views)}"
        + (f" --json {args.json}" if args.json else "")
        + (f" --markdown {args.markdown}" if args.markdown else "")
    )
    if args.json:
        from ffedit.io.files import atomic_write_bytes

        payload = summary | {"latency": dataclasses.asdict(latency), "command": command}
        atomic_write_bytes(args.json, json.dumps(payload, indent=2).encode())
    body = evaluate.fidelity_section(
        summary,
        latency,
        args.model,
        describe_machine(),
        datetime.date.today().isoformat(),
        command,
    )
    print(body)
    if args.markdown:
        from ffedit.io.markdown import write_markdown_section

        print(f"updated {write_markdown_section(args.markdown, evaluate.SECTION_TITLE, body)}")
    return 0


def _register_bench_api(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "api",
        help="loopback load run of the served API: concurrent clients rendering views",
        description="Start `ffedit serve` on 127.0.0.1 (free port, temporary data folder), "
        "create a face, run CLIENTS concurrent clients dragging the view (64² previews, then "
        "the full view and mask) for SECONDS, then time single-client 64² preview round trips. "
        "Reports count, errors and p50/p95/p99 latency; stops the server by itself.",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL_PATH, help="checkpoint folder")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--seconds", type=float, default=30.0, help="load duration (30)")
    parser.add_argument(
        "--previews", type=int, default=50, help="sequential single-client previews (50)"
    )
    parser.add_argument("--device", default="cpu", help="device of the server (default cpu)")
    parser.add_argument("--threads", type=int, help="torch threads of the server (default all)")
    parser.add_argument("--json", help="write the figures as JSON here")
    parser.add_argument("--markdown", help="Markdown file whose section to update")
    parser.set_defaults(func=_bench_api)


def _bench_api(args: argparse.Namespace) -> int:
    import dataclasses
    import datetime
    import json
    import tempfile

    from ffedit.service import loadtest

    if not Path(args.model).exists():
        print(f"error: the model {args.model} does not exist", file=sys.stderr)
        return 1
    if args.clients < 1 or args.seconds <= 0 or args.previews < 1:
        print("error: --clients, --seconds and --previews must be positive", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ffedit-bench-api-") as data_dir:
        try:
            report = loadtest.run_load_benchmark(
                Path(args.model),
                Path(data_dir),
                args.clients,
                args.seconds,
                args.previews,
                args.device,
                args.threads,
            )
        except loadtest.LoadTestError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    command = (
        f"ffedit bench api --model {args.model} --clients {args.clients} "
        f"--seconds {args.seconds:g} --previews {args.previews} --device {args.device}"
        + (f" --threads {args.threads}" if args.threads else "")
        + (f" --json {args.json}" if args.json else "")
        + (f" --markdown {args.markdown}" if args.markdown else "")
    )
    body = loadtest.load_section(
        report,
        args.model,
        loadtest.describe_client_machine(),
        datetime.date.today().isoformat(),
        command,
    )
    print(body)
    if args.json:
        from ffedit.io.files import atomic_write_bytes

        payload = dataclasses.asdict(report) | {
            "requests_per_second": report.requests_per_second,
            "command": command,
        }
        atomic_write_bytes(args.json, json.dumps(payload, indent=2).encode())
    if args.markdown:
        from ffedit.io.markdown import write_markdown_section

        path = write_markdown_section(args.markdown, loadtest.SECTION_TITLE, body)
        print(f"updated {path}")
    return 0 if report.overall.errors == 0 and report.single_preview.errors == 0 else 1


def _bench_registrars() -> list[Registrar]:
    """Every `ffedit bench …` benchmark's registrar."""
    return [
        _register_bench_render,
        _register_bench_synthface,
        _register_bench_layouts,
        _register_bench_generator,
        _register_bench_edits,
        _register_bench_api,
    ]


def _register_train_generator(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-generator",
        help="distil synthface into a tri-plane generator (the shipped default model)",
        description="Build synthface teacher data (face pairs, renders, labelled points) in "
        "RUN/data, then train the generator with ray and point losses and style mixing. "
        "Resumable: data shards and RUN/train-state.pt are reused; stopping (Ctrl-C or "
        "--max-minutes) saves the state. The final weights go to --export.",
    )
    parser.add_argument("--preset", default="synthface-128", help="architecture to train")
    parser.add_argument("--run", required=True, help="run folder (data shards, train state)")
    parser.add_argument("--entries", type=int, default=1024, help="teacher entries (face pairs)")
    parser.add_argument("--shard-size", type=int, default=16, help="entries per data shard")
    parser.add_argument(
        "--data-workers", type=int, default=2, help="processes building teacher data (2)"
    )
    parser.add_argument("--steps", type=int, default=4500, help="total optimisation steps")
    parser.add_argument("--batch-size", type=int, default=4, help="entries per step")
    parser.add_argument(
        "--learning-rate", type=float, default=2e-3, help="peak rate, cosine-decayed to --steps"
    )
    parser.add_argument("--save-every", type=int, default=100, help="steps between saves")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--export", default=None, help="checkpoint folder for the final weights")
    parser.set_defaults(func=_train_generator)


def _teacher_shard_file(path: Path, start: int, count: int) -> Path:
    """Write one teacher shard (in a worker process: one torch thread)."""
    import torch

    from ffedit.distill.teacher import TeacherSettings, teacher_shard
    from ffedit.io.tensors import save_tensors

    torch.set_num_threads(1)
    save_tensors(path, teacher_shard(start, count, TeacherSettings()))
    return path


def _build_teacher_data(run: Path, entries: int, shard_size: int, workers: int) -> list[Path]:
    """Write the missing teacher shards of RUN/data in `workers` processes; returns all
    shard paths in entry order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    shards = {
        run / "data" / f"shard-{start:07d}-{shard_size}.safetensors": start
        for start in range(0, entries, shard_size)
    }
    missing = {path: start for path, start in shards.items() if not path.exists()}
    bar = tqdm(total=len(shards), initial=len(shards) - len(missing), desc="teacher data",
               unit="shard")  # fmt: skip
    context = multiprocessing.get_context("spawn")  # no forked torch thread pools
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        jobs = [
            pool.submit(_teacher_shard_file, path, start, min(shard_size, entries - start))
            for path, start in missing.items()
        ]
        for job in as_completed(jobs):
            job.result()
            bar.update(1)
    bar.close()
    return list(shards)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _train_generator(args: argparse.Namespace) -> int:
    import signal
    import time

    import torch
    from tqdm import tqdm

    from ffedit.distill.train import DistillConfig, Distiller
    from ffedit.generator import PRESETS, TriplaneGenerator
    from ffedit.io.checkpoint import save_generator
    from ffedit.io.tensors import load_tensors, load_training_state, save_training_state

    run = Path(args.run)
    device = _resolve_device(args.device)
    shards = [
        load_tensors(path)
        for path in _build_teacher_data(run, args.entries, args.shard_size, args.data_workers)
    ]
    entries = {key: torch.cat([shard[key] for shard in shards]) for key in shards[0]}
    torch.manual_seed(0)
    generator = TriplaneGenerator(PRESETS[args.preset]).to(device)
    config = DistillConfig(
        batch_size=args.batch_size, learning_rate=args.learning_rate, total_steps=args.steps
    )
    distiller = Distiller(generator, entries, config)
    state_path = run / "train-state.pt"
    if state_path.exists():
        distiller.load_state_dict(load_training_state(state_path))
    deadline = None if args.max_minutes is None else time.monotonic() + 60 * args.max_minutes
    signal.signal(signal.SIGTERM, _interrupt)  # a killed run saves its state too
    bar = tqdm(total=args.steps, initial=distiller.step_index, desc="training", unit="step")
    try:
        while distiller.step_index < args.steps:
            losses = distiller.step()
            bar.update(1)
            bar.set_postfix({name: f"{value:.3f}" for name, value in losses.items()})
            if distiller.step_index % args.save_every == 0:
                save_training_state(state_path, distiller.state_dict())
            if deadline is not None and time.monotonic() > deadline:
                break
    except KeyboardInterrupt:
        print("interrupted: saving the training state", file=sys.stderr)
    finally:
        bar.close()
        save_training_state(state_path, distiller.state_dict())
    if args.export:
        save_generator(generator.eval().cpu(), args.export)
        print(f"wrote {args.export} at step {distiller.step_index}")
    return 0


"""The shipped default generator (distilled from synthface)."""


def _layout_generator(model: str, device):
    """The generator of `model` (checkpoint folder, .pkl or .pth) with a friendly error."""
    from ffedit.io.checkpoint import load_generator
    from ffedit.io.errors import CheckpointError

    if model == DEFAULT_MODEL_PATH and not Path(model).exists():
        raise CheckpointError(
            f"the default model {DEFAULT_MODEL_PATH} is not there; train it with "
            f"`{TRAIN_DEFAULT_MODEL}` or pass --model"
        )
    return load_generator(model, device)


def _front_ws(generator, latents):
    """ws (B, num_ws, w_dim) of latents (B, z_dim): the mapping conditioned on the front view
    (as every face of the app is); a latent of the wrong size is a ValueError."""
    import torch

    from ffedit.camera import named_camera

    if latents.shape[-1] != generator.config.z_dim:
        raise ValueError(
            f"the latents have {latents.shape[-1]} values but the model's z has "
            f"{generator.config.z_dim}: the samples were made for another model"
        )
    device = next(generator.parameters()).device
    with torch.no_grad():
        return generator.mapping(latents.to(device), named_camera("front")[None].to(device))


def _register_train_layout(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-layout",
        help="train a geometry adapter for a layout on annotated samples (few-shot)",
        description="Train FFaceNeRF's geometry adapter for LAYOUT on the annotated views of a "
        "sample folder (as written by `ffedit synthface export`: every face and view with a "
        "mask of the layout), and write an adapter checkpoint folder (weights, layout, training "
        "config and metrics, manifest).",
    )
    parser.add_argument("--layout", required=True, help="layout name (built-in or the folder's)")
    parser.add_argument("--samples", required=True, help="sample folder (manifest.json, masks)")
    parser.add_argument("--out", required=True, help="adapter folder to write (replaced)")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL_PATH, help=f"generator ({DEFAULT_MODEL_PATH})"
    )
    parser.add_argument("--preset", default="fast", help="training preset: fast or paper (fast)")
    parser.add_argument("--steps", type=int, help="optimizer steps (default: the preset's)")
    parser.add_argument("--seed", type=int, help="training seed (default: the preset's)")
    parser.add_argument("--views", type=_names, help="use only these views (default: all)")
    parser.add_argument(
        "--one-view-per-face",
        action="store_true",
        help="one annotated view per face, cycling through the exported views (as the "
        "layout benchmark samples them)",
    )
    parser.add_argument("--max-samples", type=int, help="use the first N annotated views")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.set_defaults(func=_train_layout)


def _annotated_layout_samples(args: argparse.Namespace, generator):
    """The layout and its `LayoutSample`s from the sample folder; masks checked for size."""
    from ffedit.adapter import LayoutSample
    from ffedit.io.adapters import one_view_per_face, read_layout_samples
    from ffedit.layouts import InvalidMask

    layout, views = read_layout_samples(args.samples, args.layout, args.views)
    if args.one_view_per_face:
        views = one_view_per_face(views)
    if args.max_samples is not None:
        views = views[: args.max_samples]
    size = generator.config.neural_rendering_resolution
    for view in views:
        if tuple(view.labels.shape) != (size, size):
            found = "×".join(map(str, view.labels.shape))
            raise InvalidMask(
                f"face {view.seed} {view.view}: the mask is {found}, the model's masks are "
                f"{size}×{size} (export the samples with --resolution {size})"
            )
    if not views:
        return layout, []
    import torch

    ws = _front_ws(generator, torch.stack([view.latent for view in views]))
    samples = [LayoutSample(w, v.camera, v.labels) for w, v in zip(ws, views, strict=True)]
    return layout, samples


def _train_layout(args: argparse.Namespace) -> int:
    import dataclasses

    import torch
    from tqdm import tqdm

    from ffedit.adapter import TRAINING_PRESETS, TooFewSamples, fit_adapter, predict_masks
    from ffedit.adapter.config import with_steps
    from ffedit.adapter.metrics import iou_table, mean_iou
    from ffedit.io.adapters import SampleFolderError, save_adapter
    from ffedit.io.errors import CheckpointError
    from ffedit.layouts import InvalidMask, UnknownLayout

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.preset not in TRAINING_PRESETS:
        known = ", ".join(TRAINING_PRESETS)
        print(f"error: unknown training preset {args.preset!r}; known: {known}", file=sys.stderr)
        return 1
    config = TRAINING_PRESETS[args.preset]
    if args.steps:
        config = with_steps(config, args.steps)
    if args.seed is not None:
        config = dataclasses.replace(config, seed=args.seed)
    device = _resolve_device(args.device)
    try:
        generator = _layout_generator(args.model, device)
        layout, samples = _annotated_layout_samples(args, generator)
        with tqdm(total=config.steps, desc=f"training {layout.name}", unit="step") as bar:

            def on_step(step, total, losses, adapter):
                bar.update(1)
                bar.set_postfix(
                    ce=f"{losses['cross_entropy']:.3f}", dice=f"{losses['overlap']:.3f}"
                )

            fit = fit_adapter(generator, samples, layout, config, on_step)
    except TooFewSamples as error:
        print(f"error: {error} in {args.samples}", file=sys.stderr)
        return 1
    except (CheckpointError, SampleFolderError, UnknownLayout, InvalidMask, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    ws = torch.stack([sample.ws for sample in samples])
    cameras = torch.stack([sample.camera for sample in samples]).to(ws.device)
    predicted = torch.cat(
        [
            predict_masks(
                generator, fit.adapter, ws[i : i + 8], cameras[i : i + 8], RENDER_CHUNK_RAYS
            )
            for i in range(0, len(samples), 8)
        ]
    )
    labels = torch.stack([sample.labels for sample in samples])
    train_miou = mean_iou(iou_table(predicted.cpu(), labels, layout.num_classes))
    metrics = {
        "samples": len(samples),
        "steps": fit.steps,
        "seconds": round(fit.seconds, 2),
        "final_losses": fit.final_losses,
        "kept_weight": fit.kept_weight,
        "train_miou": train_miou,
        "model": str(args.model),
    }
    folder = save_adapter(args.out, fit.adapter.cpu(), layout, config, metrics)
    print(
        f"wrote {folder}: layout {layout.name} ({layout.num_classes} classes) from "
        f"{len(samples)} samples, {fit.steps} steps in {fit.seconds:.1f} s; "
        f"training-sample mIoU {train_miou * 100:.1f}"
    )
    return 0


def _register_bench_layouts(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "layouts",
        help="few-shot layout quality (mIoU vs synthface ground truth), ablations, shots, time",
        description="Train geometry adapters for each layout on N annotated synthface samples "
        "(training faces), predict masks for held-out faces × front/left/right, and measure "
        "mIoU, new-class mIoU, per-class and per-view IoU and training time, over several "
        "seeds, for the method, its ablations, several N and both trainers (benchmarks.md §2). "
        "Writes JSON and optionally the 'Few-shot layouts' section of a Markdown file.",
    )
    parser.add_argument("--faces", type=_seed_range, default="0:40", help="held-out faces (0:40)")
    parser.add_argument(
        "--train-faces", type=_seed_range, default="10000:20", help="training faces (10000:20)"
    )
    parser.add_argument("--json", required=True, help="JSON file to write")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL_PATH, help=f"generator ({DEFAULT_MODEL_PATH})"
    )
    parser.add_argument("--layouts", type=_names, default="base17,eyes19,nose19,chin20")
    parser.add_argument("--shots", default="1,5,10,20", help="shot counts N (1,5,10,20)")
    parser.add_argument("--variant-shots", type=int, default=10, help="N of the variants (10)")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per setting (3)")
    parser.add_argument(
        "--variants",
        type=_names,
        default="full,no-injection,no-lmta,no-overlap,front-only",
        help="full, no-injection, no-lmta, no-overlap, front-only",
    )
    parser.add_argument(
        "--compare-trainers",
        type=_names,
        default="eyes19",
        help="layouts where the full-image trainer also runs ('' for none; default eyes19)",
    )
    parser.add_argument("--preset", default="fast", help="training preset (fast)")
    parser.add_argument("--steps", type=int, help="optimizer steps (default: the preset's)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument(
        "--markdown", help="Markdown file whose 'Few-shot layouts' section to update"
    )
    parser.set_defaults(func=_bench_layouts)


def _synthface_bench_faces(generator, seeds: list[int]):
    """`BenchFaces` of synthface seeds: ws from their latents, fine labels at the views."""
    import torch

    from ffedit.adapter.benchmark import VIEWS, BenchFaces
    from ffedit.camera import named_camera
    from ffedit.synthface import face_from_latent, latent_from_seed, render_face

    latents = torch.stack([latent_from_seed(seed) for seed in seeds])
    cameras = torch.stack([named_camera(view) for view in VIEWS])
    resolution = generator.config.neural_rendering_resolution
    fine = torch.stack(
        [render_face(face_from_latent(z), cameras, resolution).fine_labels for z in latents]
    )
    return BenchFaces(tuple(seeds), _front_ws(generator, latents), fine)


def _bench_layouts(args: argparse.Namespace) -> int:
    import datetime
    import json

    import torch
    from tqdm import tqdm

    from ffedit.adapter import TRAINING_PRESETS
    from ffedit.adapter import benchmark as bench
    from ffedit.adapter.config import with_steps
    from ffedit.generator.benchmark import describe_device, describe_machine
    from ffedit.io.errors import CheckpointError
    from ffedit.io.files import atomic_write_bytes
    from ffedit.layouts import UnknownLayout, get_layout

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        shots = [int(n) for n in args.shots.split(",")]
        for name in args.layouts:
            get_layout(name)
        unknown = [v for v in args.variants if v not in bench.VARIANTS]
        if unknown:
            raise ValueError(f"unknown variants {unknown}; known: {', '.join(bench.VARIANTS)}")
        if set(args.faces) & set(args.train_faces):
            raise ValueError("--faces and --train-faces overlap: held-out faces must be unseen")
        if max([*shots, args.variant_shots]) > len(args.train_faces):
            raise ValueError(
                f"N up to {max([*shots, args.variant_shots])} needs as many --train-faces"
            )
        config = TRAINING_PRESETS[args.preset]
    except (ValueError, UnknownLayout, KeyError) as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    if args.steps:
        config = with_steps(config, args.steps)
    device = _resolve_device(args.device)
    try:
        generator = _layout_generator(args.model, device)
        train_faces = _synthface_bench_faces(generator, args.train_faces)
        test_faces = _synthface_bench_faces(generator, args.faces)
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    comparison = [name for name in args.compare_trainers if name in args.layouts]
    runs = bench.planned_runs(
        args.layouts, args.variants, shots, args.seeds, args.variant_shots, comparison
    )
    with tqdm(total=len(runs), desc="adapters", unit="run") as bar:

        def on_run(index, total, spec, fit):
            bar.update(1)
            bar.set_postfix(
                layout=spec.layout, variant=spec.variant, n=spec.shots, s=f"{fit.seconds:.0f}"
            )

        results = bench.run_layout_benchmark(
            generator, train_faces, test_faces, runs, config, on_run, RENDER_CHUNK_RAYS
        )
    faces, train = args.faces, args.train_faces
    command = (
        f"ffedit bench layouts --faces {faces[0]}:{len(faces)} --train-faces "
        f"{train[0]}:{len(train)} --model {args.model} --layouts {','.join(args.layouts)} "
        f"--shots {args.shots} --variant-shots {args.variant_shots} --seeds {args.seeds} "
        f"--variants {','.join(args.variants)} --compare-trainers {','.join(comparison)} "
        f"--preset {args.preset}" + (f" --steps {args.steps}" if args.steps else "")
    )
    context = {
        "command": command,
        "model": str(args.model),
        "device": describe_device(device),
        "machine": describe_machine(),
        "date": datetime.date.today().isoformat(),
        "faces": f"{faces[0]}:{len(faces)}",
        "train_faces": f"{train[0]}:{len(train)}",
        "seeds": args.seeds,
        "variant_shots": args.variant_shots,
        "training": f"preset {args.preset}, {config.steps} steps",
        "config": config.to_dict(),
    }
    document = {**context, **results, "summary": bench.summarize(results["runs"])}
    text = json.dumps(bench.json_ready(document), indent=1, allow_nan=False)
    atomic_write_bytes(args.json, (text + "\n").encode())
    print(f"wrote {args.json} ({len(runs)} adapters)")
    for entry in document["summary"]:
        print(
            f"  {entry['layout']:7} {entry['variant']:12} N={entry['shots']:<3} "
            f"{entry['trainer']:4}  mIoU {entry['miou'][0] * 100:5.1f}  "
            f"new {entry['new_miou'][0] * 100:5.1f}  {entry['seconds'][0]:6.1f} s"
        )
    if args.markdown:
        from ffedit.io.markdown import write_markdown_section

        body = bench.markdown_section(results, context)
        print(f"updated {write_markdown_section(args.markdown, bench.SECTION_TITLE, body)}")
    return 0


EDIT_ORBIT_FRAMES = 60
"""Frames of the orbit video `ffedit edit` writes (NeRFFaceEditing's orbit, one loop)."""


def _register_edit(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "edit",
        help="edit a face in 3D toward a painted mask (FFaceNeRF's latent optimisation)",
        description="Optimise a face's latent so that its mask at VIEW becomes the target mask "
        "(a PNG in the layout's colours or indices, at the model's neural rendering "
        "resolution), and write the edited face: RGB, mask and overlay at front/left/right, an "
        "orbit video (MP4, or GIF without ffmpeg), the edited latent (ws.safetensors: ws, "
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
    """(adapter or None, layout) for an edit: the adapter checkpoint of the layout, or the
    generator's own segmentation for `base15` when no adapter folder exists."""
    from ffedit.io.adapters import load_adapter
    from ffedit.io.errors import CheckpointError
    from ffedit.layouts import get_layout

    path = Path(folder) if folder else Path(model) / "adapters" / layout_name
    if not path.exists():
        if folder is None and layout_name == "base15" and generator.config.seg_classes == 15:
            return None, get_layout("base15")
        raise CheckpointError(
            f"no adapter for layout {layout_name!r} at {path}: train one with `ffedit "
            f"train-layout --layout {layout_name} --samples … --out {path}` or pass --adapter"
        )
    device = next(generator.parameters()).device
    saved = load_adapter(path, device, generator.config)
    if saved.layout.name != layout_name:
        raise CheckpointError(
            f"the adapter at {path} predicts layout {saved.layout.name!r}, not {layout_name!r}"
        )
    return saved.adapter, saved.layout


def _edit_source(face: str, generator):
    """(ws (num_ws, w_dim), plane stats or None) of --face: a seed, a z .npy or a ws file."""
    import numpy as np
    import torch

    from ffedit.edit import ws_from_latent, ws_from_seed
    from ffedit.generator.planes import PlaneStatistics
    from ffedit.io.tensors import load_tensors

    if face.lstrip("-").isdigit():
        return ws_from_seed(generator, int(face)), None
    path = Path(face)
    if not path.is_file():
        raise ValueError(f"--face {face!r} is neither a seed nor an existing file")
    device = next(generator.parameters()).device
    if path.suffix == ".npy":
        z = torch.from_numpy(np.load(path, allow_pickle=False)).float().reshape(-1)
        if len(z) != generator.config.z_dim:
            raise ValueError(
                f"{path} holds {len(z)} values; the model's z has {generator.config.z_dim}"
            )
        return ws_from_latent(generator, z), None
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
    from ffedit.edit import EditConfig, optimize_latent
    from ffedit.edit import views as edit_views
    from ffedit.edit.lpips import load_lpips
    from ffedit.edit.optimize import check_target
    from ffedit.io.errors import CheckpointError
    from ffedit.io.files import atomic_folder, atomic_write_bytes
    from ffedit.io.images import save_png
    from ffedit.io.tensors import save_tensors
    from ffedit.io.video import write_video
    from ffedit.layouts import InvalidMask, UnknownLayout, indexed_png_from_labels, labels_from_png

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = _resolve_device(args.device)
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
        if config.lpips_weights is not None:
            load_lpips(config.lpips_weights)  # fail before the model loads, not mid-bar
        generator = _layout_generator(args.model, device)
        adapter, layout = _edit_adapter(args.model, args.layout, args.adapter, generator)
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
        )
    renders = edit_views.render_views(
        generator, adapter, result.ws, result.plane_stats, layout, chunk_rays=RENDER_CHUNK_RAYS
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
        for view, render in renders.items():
            save_png(staging / f"{view}_rgb.png", render.rgb)
            atomic_write_bytes(
                staging / f"{view}_mask.png", indexed_png_from_labels(render.labels, layout)
            )
            save_png(staging / f"{view}_overlay.png", render.overlay)
        video = None
        if args.orbit_frames > 0:
            frames = edit_views.orbit_frames(
                generator, result.ws, result.plane_stats, args.orbit_frames, RENDER_CHUNK_RAYS
            )
            frames = tqdm(frames, total=args.orbit_frames, desc="orbit", unit="frame")
            video = write_video(staging / "orbit.mp4", frames, fps=30).name
        record = {
            "face": args.face,
            "view": args.view,
            "layout": layout.name,
            "target": str(args.target),
            "model": str(args.model),
            "adapter": None
            if adapter is None
            else str(args.adapter or Path(args.model) / "adapters" / layout.name),
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


def _register_bench_edits(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "edits",
        help="mask-driven edits vs synthface's exact edits: target IoU, 3D consistency, PSNR, time",
        description="Edit held-out synthface faces toward the teacher's edited mask at the "
        "front view, for each edit operator in the layout holding its classes, with each "
        "overlap weight and (on the first faces) the full-frame twin; measure target IoU, "
        "3D consistency at left/right, preservation PSNR and time (benchmarks.md §3). Writes "
        "JSON, before/after contact sheets and optionally the 'Mask-driven edits' section.",
    )
    parser.add_argument("--faces", type=_seed_range, default="0:10", help="held-out faces (0:10)")
    parser.add_argument("--json", required=True, help="JSON file to write")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help=f"generator checkpoint ({DEFAULT_MODEL_PATH})")
    source.add_argument(
        "--preset", help="random weights of a preset with fresh adapters (speed/pipeline check)"
    )
    parser.add_argument("--adapters", help="folder of adapters per layout (MODEL/adapters)")
    parser.add_argument("--lambdas", default="0.5,0", help="overlap weights λ (0.5,0)")
    parser.add_argument(
        "--operators", type=_names, help="edit operators (default: the six of benchmarks.md §3)"
    )
    parser.add_argument(
        "--full-frame-faces", type=int, default=2, help="faces also edited full-frame (2)"
    )
    parser.add_argument("--steps", type=int, default=100, help="optimisation steps (100)")
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
    parser.set_defaults(func=_bench_edits)


def _bench_edit_models(args: argparse.Namespace, layouts: list[str], device):
    """(generator, {layout: (adapter, layout)}) of --model (adapters from their folders) or
    --preset (random weights, freshly initialised adapters)."""
    import torch

    from ffedit.adapter import GeometryAdapter
    from ffedit.io.adapters import load_adapter
    from ffedit.io.errors import CheckpointError
    from ffedit.layouts import get_layout

    if args.preset is not None:
        generator = _load_cli_generator(args.preset, None, device)
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
    generator = _layout_generator(model, device)
    root = Path(args.adapters) if args.adapters else Path(model) / "adapters"
    adapters = {}
    for name in layouts:
        if not (root / name).exists():
            raise CheckpointError(
                f"no adapter for layout {name!r} at {root / name}: train one with "
                f"`ffedit train-layout --layout {name} … --out {root / name}` or pass --adapters"
            )
        saved = load_adapter(root / name, device, generator.config)
        adapters[name] = (saved.adapter, saved.layout)
    return generator, adapters


def _bench_edits(args: argparse.Namespace) -> int:
    import dataclasses
    import datetime
    import json
    import os

    import torch
    from tqdm import tqdm

    from ffedit.adapter.benchmark import json_ready
    from ffedit.camera import named_camera
    from ffedit.edit import EditConfig, ws_from_seed
    from ffedit.edit import benchmark as bench
    from ffedit.generator.benchmark import describe_device, describe_machine
    from ffedit.io.errors import CheckpointError
    from ffedit.io.files import atomic_write_bytes
    from ffedit.io.images import save_png
    from ffedit.synthface import face_from_latent, latent_from_seed, render_face
    from ffedit.synthface.edits import EDIT_OPERATORS, apply_edit, edit_classes

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    known = {case.operator: case for case in bench.EDIT_CASES}
    try:
        lambdas = [float(value) for value in args.lambdas.split(",")]
        operators = args.operators or list(known)
        unknown = [name for name in operators if name not in known]
        if unknown:
            raise ValueError(
                f"no benchmark case for {unknown}; cases: {', '.join(known)} (operators: "
                f"{', '.join(EDIT_OPERATORS)})"
            )
        config = EditConfig(steps=args.steps)
    except ValueError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    cases = [known[name] for name in operators]
    device = _resolve_device(args.device)
    try:
        generator, adapters = _bench_edit_models(
            args, sorted({case.layout for case in cases}), device
        )
    except (CheckpointError, KeyError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 1
    cameras = torch.stack([named_camera(view) for view in bench.VIEWS])
    resolution = generator.config.neural_rendering_resolution
    faces, sources = {}, {}

    def face_source(seed: int, case):
        if seed not in faces:
            faces[seed] = face_from_latent(latent_from_seed(seed))
            sources[seed] = render_face(faces[seed], cameras, resolution).fine_labels
        edited = apply_edit(faces[seed], case.operator, case.amount)
        teacher = bench.TeacherViews(
            sources[seed], render_face(edited, cameras, resolution).fine_labels
        )
        return ws_from_seed(generator, seed), teacher

    run_variants = bench.variants(lambdas, lambdas[0] if args.full_frame_faces > 0 else None)
    per_case = len(args.faces) * len(lambdas) + min(args.full_frame_faces, len(args.faces))
    with tqdm(total=len(cases) * per_case, desc="edits", unit="edit") as bar:

        def on_edit(figures):
            bar.update(1)
            bar.set_postfix(
                edit=figures["operator"],
                iou=f"{figures['target_iou']:.2f}",
                s=f"{figures['seconds']:.0f}",
            )

        runs, sheets = bench.run_edit_benchmark(
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
    summary = bench.summarize(runs)
    comparison = bench.fast_vs_full(runs)
    model = (
        f"preset {args.preset} (random weights, fresh adapters)"
        if args.preset
        else args.model or DEFAULT_MODEL_PATH
    )
    command = (
        f"ffedit bench edits --faces {args.faces[0]}:{len(args.faces)} --json {args.json} "
        + (
            f"--preset {args.preset}"
            if args.preset
            else f"--model {args.model or DEFAULT_MODEL_PATH}"
        )
        + (f" --adapters {args.adapters}" if args.adapters else "")
        + f" --lambdas {args.lambdas} --operators {','.join(operators)} "
        f"--full-frame-faces {args.full_frame_faces} --steps {args.steps}"
        + (" --paint-on-prediction" if args.paint_on_prediction else "")
        + (f" --threads {args.threads}" if args.threads is not None else "")
        + (f" --markdown {args.markdown}" if args.markdown else "")
    )
    context = {
        "command": command,
        "model": model,
        "device": describe_device(device),
        "machine": describe_machine(),
        "date": datetime.date.today().isoformat(),
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
    text = json.dumps(json_ready(document), indent=1, allow_nan=False)
    atomic_write_bytes(args.json, (text + "\n").encode())
    print(
        f"wrote {args.json} ({len(runs)} edits)"
        + (f" and {len(sheets)} sheets in {args.images}" if sheets else "")
    )
    body = bench.markdown_section(summary, comparison, context)
    print(body)
    if args.markdown:
        from ffedit.io.markdown import write_markdown_section

        print(f"updated {write_markdown_section(args.markdown, bench.SECTION_TITLE, body)}")
    return 0


def _register_serve(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the web app and its API (model, data dir etc. from FFEDIT_* variables)",
        description="Load the model once and serve the API under /api/v1 and the front end at "
        "/. Settings come from FFEDIT_* environment variables (FFEDIT_MODEL, default "
        "models/synthface-128; FFEDIT_DATA_DIR, default ./data; FFEDIT_DEVICE, ...).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--model", help="checkpoint folder or .pkl (overrides FFEDIT_MODEL)")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ffedit.api.app import create_app
    from ffedit.api.settings import Settings

    settings = Settings() if args.model is None else Settings(model=args.model)
    if not settings.model.exists():
        print(
            f"error: the model {settings.model} does not exist. Train the default model with "
            f"`{TRAIN_DEFAULT_MODEL}`, or set FFEDIT_MODEL (or --model) to a checkpoint "
            "folder or an EG3D/NeRFFaceEditing .pkl",
            file=sys.stderr,
        )
        return 2
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def _registrars() -> list[Registrar]:
    """Every subcommand's registrar; imports stay lazy so `ffedit --help` is fast."""
    return [
        _register_import_checkpoint,
        _register_render,
        _register_bench,
        _register_synthface,
        _register_train_generator,
        _register_train_layout,
        _register_edit,
        _register_serve,
    ]


def main(argv: list[str] | None = None) -> int:
    args = build_parser(_registrars()).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
