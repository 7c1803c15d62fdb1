"""`ffedit bench …`: quality and speed benchmarks (render, synthface, layouts, generator,
edits, api), each printing its figures and optionally replacing its section of a Markdown
file (docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ffedit.cli.common import (
    RENDER_CHUNK_RAYS,
    Registrar,
    front_ws,
    layout_generator,
    load_cli_generator,
    name_list,
    resolve_device,
    seed_range,
    set_torch_threads,
    synthface_setup,
)
from ffedit.config import DEFAULT_MODEL_PATH


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure quality and speed; results can be written to docs/benchmarks.md",
    )
    benchmarks = parser.add_subparsers(dest="benchmark", required=True)
    for register in _bench_registrars():
        register(benchmarks)


def _publish(body: str, markdown: str | None, title: str, echo: bool = True) -> None:
    """Print a benchmark's Markdown section (if `echo`) and, given a path, replace the
    section `title` of that Markdown file with it."""
    if echo:
        print(body)
    if markdown:
        from ffedit.io.markdown import write_markdown_section

        print(f"updated {write_markdown_section(markdown, title, body)}")


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
    device = resolve_device(args.device)
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
        from ffedit.io.markdown import read_markdown_section

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
        _publish(bench.latency_section(previous, row), args.markdown, bench.SECTION_TITLE, False)
    return 0


def _register_bench_synthface(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synthface",
        help="synthface population statistics (labels, pixel shares, accessories, box) and speed",
        description="Render faces START … START+COUNT−1 at the views, gather fine-label and "
        "layout pixel shares, accessory rates and the box check, time one view, print a "
        "summary and optionally replace the 'synthface' section of a Markdown file.",
    )
    parser.add_argument("--faces", type=seed_range, default="0:200", help="START:COUNT (0:200)")
    parser.add_argument("--views", type=name_list, default="front,left,right", help="named views")
    parser.add_argument(
        "--layouts", type=name_list, default="base17,eyes19,nose19,chin20", help="layouts"
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
        layouts = synthface_setup(args.views, args.layouts, args.threads)
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
    _publish(body, args.markdown, bench.SECTION_TITLE)
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
    parser.add_argument("--faces", type=seed_range, default="0:40", help="held-out faces (0:40)")
    parser.add_argument(
        "--train-faces", type=seed_range, default="10000:20", help="training faces (10000:20)"
    )
    parser.add_argument("--json", required=True, help="JSON file to write")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL_PATH, help=f"generator ({DEFAULT_MODEL_PATH})"
    )
    parser.add_argument("--layouts", type=name_list, default="base17,eyes19,nose19,chin20")
    parser.add_argument("--shots", default="1,5,10,20", help="shot counts N (1,5,10,20)")
    parser.add_argument("--variant-shots", type=int, default=10, help="N of the variants (10)")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per setting (3)")
    parser.add_argument(
        "--variants",
        type=name_list,
        default="full,no-injection,no-lmta,no-overlap,front-only",
        help="full, no-injection, no-lmta, no-overlap, front-only",
    )
    parser.add_argument(
        "--compare-trainers",
        type=name_list,
        default="eyes19",
        help="layouts where the full-image trainer also runs ('' for none; default eyes19)",
    )
    parser.add_argument(
        "--compare-steps",
        type=int,
        help="run both trainers of the comparison at this many steps (the full-image trainer "
        "takes ~5.5 s a step on a 2-core CPU; default: the training steps, one run of it)",
    )
    parser.add_argument("--preset", default="fast", help="training preset (fast)")
    parser.add_argument("--steps", type=int, help="optimizer steps (default: the preset's)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument(
        "--store",
        help="keep every trained adapter in this folder and reuse it when the benchmark runs "
        "again (an interrupted run resumes; figures are the same)",
    )
    parser.add_argument(
        "--markdown", help="Markdown file whose 'Few-shot layouts' section to update"
    )
    parser.set_defaults(func=_bench_layouts)


def _stored_fit_run(store: Path):
    """A layout-benchmark `FitRun` that keeps each trained adapter (and its time and losses)
    in `store`/<run name>/ and loads it instead of training when it is already there."""
    from ffedit.adapter import benchmark as bench
    from ffedit.adapter.training import AdapterFit
    from ffedit.io.adapters import load_adapter, save_adapter

    def fit_run(generator, spec, samples, layout, config):
        folder = store / bench.run_name(spec)
        if (folder / "manifest.json").is_file():
            device = next(generator.parameters()).device
            saved = load_adapter(folder, device, generator.config)
            record = saved.metrics
            return AdapterFit(
                saved.adapter,
                record["steps"],
                False,
                record["seconds"],
                record["final_losses"],
                (),
                record["kept_weight"],
            )
        fit = bench.train_run(generator, spec, samples, layout, config)
        record = {
            "steps": fit.steps,
            "seconds": fit.seconds,
            "final_losses": fit.final_losses,
            "kept_weight": fit.kept_weight,
        }
        save_adapter(folder, fit.adapter.cpu(), layout, config, record)
        fit.adapter.to(next(generator.parameters()).device)
        return fit

    return fit_run


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
    return BenchFaces(tuple(seeds), front_ws(generator, latents), fine)


def _bench_layouts(args: argparse.Namespace) -> int:
    import datetime
    import json

    from tqdm import tqdm

    from ffedit.adapter import TRAINING_PRESETS
    from ffedit.adapter import benchmark as bench
    from ffedit.adapter.config import with_steps
    from ffedit.generator.benchmark import describe_device, describe_machine
    from ffedit.io.errors import CheckpointError
    from ffedit.io.files import atomic_write_bytes
    from ffedit.layouts import UnknownLayout, get_layout

    set_torch_threads(args.threads)
    try:
        shots = [int(n) for n in args.shots.split(",")]
        for name in args.layouts:
            get_layout(name)
        unknown = [v for v in args.variants if v not in bench.VARIANTS]
        if unknown:
            raise ValueError(f"unknown variants {unknown}; known: {', '.join(bench.VARIANTS)}")
        if args.compare_steps is not None and args.compare_steps < 1:
            raise ValueError(f"--compare-steps must be at least 1, got {args.compare_steps}")
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
    device = resolve_device(args.device)
    try:
        generator = layout_generator(args.model, device)
        train_faces = _synthface_bench_faces(generator, args.train_faces)
        test_faces = _synthface_bench_faces(generator, args.faces)
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    comparison = [name for name in args.compare_trainers if name in args.layouts]
    runs = bench.planned_runs(
        args.layouts,
        args.variants,
        shots,
        args.seeds,
        args.variant_shots,
        comparison,
        args.compare_steps,
    )
    with tqdm(total=len(runs), desc="adapters", unit="run") as bar:

        def on_run(index, total, spec, fit):
            bar.update(1)
            bar.set_postfix(
                layout=spec.layout, variant=spec.variant, n=spec.shots, s=f"{fit.seconds:.0f}"
            )

        fit_run = _stored_fit_run(Path(args.store)) if args.store else bench.train_run
        results = bench.run_layout_benchmark(
            generator, train_faces, test_faces, runs, config, on_run, RENDER_CHUNK_RAYS, fit_run
        )
    faces, train = args.faces, args.train_faces
    command = (
        f"ffedit bench layouts --faces {faces[0]}:{len(faces)} --train-faces "
        f"{train[0]}:{len(train)} --model {args.model} --layouts {','.join(args.layouts)} "
        f"--shots {args.shots} --variant-shots {args.variant_shots} --seeds {args.seeds} "
        f"--variants {','.join(args.variants)} --compare-trainers {','.join(comparison)} "
        + (f"--compare-steps {args.compare_steps} " if args.compare_steps else "")
        + f"--preset {args.preset}"
        + (f" --steps {args.steps}" if args.steps else "")
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
            f"{entry['trainer']:4} {entry['steps'] or config.steps:5} steps  "
            f"mIoU {entry['miou'][0] * 100:5.1f}  "
            f"new {entry['new_miou'][0] * 100:5.1f}  {entry['seconds'][0]:6.1f} s"
        )
    if args.markdown:
        body = bench.markdown_section(results, context)
        _publish(body, args.markdown, bench.SECTION_TITLE, echo=False)
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
    parser.add_argument("--faces", type=seed_range, default="0:50", help="START:COUNT (0:50)")
    parser.add_argument("--views", type=name_list, default="front,left,right", help="named views")
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
        generator = load_generator(args.model, resolve_device(args.device))
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
    _publish(body, args.markdown, evaluate.SECTION_TITLE)
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
    parser.add_argument("--faces", type=seed_range, default="0:10", help="held-out faces (0:10)")
    parser.add_argument("--json", required=True, help="JSON file to write")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help=f"generator checkpoint ({DEFAULT_MODEL_PATH})")
    source.add_argument(
        "--preset", help="random weights of a preset with fresh adapters (speed/pipeline check)"
    )
    parser.add_argument("--adapters", help="folder of adapters per layout (MODEL/adapters)")
    parser.add_argument("--lambdas", default="0.5,0", help="overlap weights λ (0.5,0)")
    parser.add_argument(
        "--operators", type=name_list, help="edit operators (default: the six of benchmarks.md §3)"
    )
    parser.add_argument(
        "--full-frame-faces", type=int, default=2, help="faces also edited full-frame (2)"
    )
    parser.add_argument("--steps", type=int, default=100, help="optimisation steps (100)")
    parser.add_argument(
        "--region-rays",
        type=int,
        help="fast path: at most this many edit-region rays per step (EditConfig's default; "
        "0: all)",
    )
    parser.add_argument(
        "--context-rays",
        type=int,
        help="fast path: rays drawn outside the edit region per step (EditConfig's default)",
    )
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
        generator = load_cli_generator(args.preset, None, device)
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
    generator = layout_generator(model, device)
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
    from ffedit.edit import EditConfig
    from ffedit.edit import benchmark as bench
    from ffedit.generator import ws_from_seed
    from ffedit.generator.benchmark import describe_device, describe_machine
    from ffedit.io.errors import CheckpointError
    from ffedit.io.files import atomic_write_bytes
    from ffedit.io.images import save_png
    from ffedit.synthface import face_from_latent, latent_from_seed, render_face
    from ffedit.synthface.edits import EDIT_OPERATORS, apply_edit, edit_classes

    set_torch_threads(args.threads)
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
        if args.region_rays is not None:
            config = dataclasses.replace(config, region_rays=args.region_rays or None)
        if args.context_rays is not None:
            config = dataclasses.replace(config, context_rays=args.context_rays)
    except ValueError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    cases = [known[name] for name in operators]
    device = resolve_device(args.device)
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
        + (f" --region-rays {args.region_rays}" if args.region_rays is not None else "")
        + (f" --context-rays {args.context_rays}" if args.context_rays is not None else "")
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
    _publish(body, args.markdown, bench.SECTION_TITLE)
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
    _publish(body, args.markdown, loadtest.SECTION_TITLE, echo=False)
    return 0 if report.overall.errors == 0 and report.single_preview.errors == 0 else 1
