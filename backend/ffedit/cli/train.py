"""`ffedit train-generator` (distil synthface into a generator) and `ffedit train-layout`
(few-shot geometry adapter). `_teacher_shard_file` stays at module level: spawned worker
processes import it by name."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ffedit.cli.common import (
    RENDER_CHUNK_RAYS,
    front_ws,
    layout_generator,
    name_list,
    set_torch_threads,
)
from ffedit.config import DEFAULT_MODEL_PATH

if TYPE_CHECKING:
    from ffedit.distill.teacher import TeacherSettings


def register_train_generator(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-generator",
        help="distil synthface into a tri-plane generator (the shipped default model)",
        description="Build synthface teacher data (face pairs, renders, labelled points) in "
        "RUN/data, then train the generator with ray and point losses and style mixing. "
        "Resumable: data shards and RUN/train-state.pt are reused; stopping (Ctrl-C, SIGTERM "
        "or --max-minutes) saves the state. The final weights go to --export: after the "
        "last step or --max-minutes, not after Ctrl-C or SIGTERM (exit code 130).",
    )
    parser.add_argument("--preset", default="synthface-128", help="architecture to train")
    parser.add_argument("--run", required=True, help="run folder (data shards, train state)")
    parser.add_argument("--entries", type=int, default=1024, help="teacher entries (face pairs)")
    parser.add_argument(
        "--views-per-entry",
        type=int,
        help="teacher renders per entry, at random cameras (default: TeacherSettings.views, 2)",
    )
    parser.add_argument("--shard-size", type=int, default=16, help="entries per data shard")
    parser.add_argument(
        "--data-workers", type=int, default=2, help="processes building teacher data (2)"
    )
    parser.add_argument(
        "--mapping-lr-multiplier",
        type=float,
        help="the mapping network's learning-rate multiplier (default: the preset's); a "
        "resumed run keeps the architecture recorded in its state",
    )
    parser.add_argument(
        "--channel-min",
        type=int,
        help="widen the backbone's high-resolution blocks to at least this many channels "
        "(default: the preset's); a resumed run keeps the architecture recorded in its state",
    )
    parser.add_argument(
        "--zoom-out",
        type=float,
        help="widen each teacher view's field of view by a factor drawn from [1, ZOOM_OUT], "
        "so that the frame's edges (hair top, chest) are seen inside other views (default: "
        "TeacherSettings.zoom_out_max, 1: no zoom)",
    )
    parser.add_argument(
        "--free-mapping",
        action="store_true",
        help="train the mapping's first layer freely instead of fixing it to synthface's "
        "parameter directions of z (the default; see DistillConfig.teacher_mapping)",
    )
    parser.add_argument(
        "--init-from",
        help="warm restart: start from this checkpoint folder's weights and architecture "
        "(e.g. models/synthface-128) with a fresh optimiser and learning-rate schedule; "
        "ignored when RUN already has a training state (that resumes)",
    )
    parser.add_argument("--steps", type=int, default=8000, help="total optimisation steps")
    parser.add_argument("--batch-size", type=int, default=4, help="entries per step")
    parser.add_argument(
        "--learning-rate", type=float, default=4e-3, help="peak rate, cosine-decayed to --steps"
    )
    parser.add_argument("--save-every", type=int, default=100, help="steps between saves")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="compile the synthesis network and decoders with torch.compile (on CPU it needs "
        "a C++ compiler, e.g. Debian's g++); on a 2-core CPU it sped up a profiling loop by "
        "14%% but not a full run (0.90 vs 0.89 s/step)",
    )
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--export", default=None, help="checkpoint folder for the final weights")
    parser.add_argument(
        "--superres-faces", type=int, default=64, help="teacher faces for the SR head (64)"
    )
    parser.add_argument(
        "--superres-steps",
        type=int,
        default=400,
        help="steps fitting the super-resolution head before export (400; 0 skips)",
    )
    parser.set_defaults(func=_train_generator)


def _teacher_shard_file(path: Path, start: int, count: int, settings: TeacherSettings) -> Path:
    """Write one teacher shard (in a worker process: one torch thread)."""
    import torch

    from ffedit.distill.teacher import teacher_shard
    from ffedit.io.tensors import save_tensors

    torch.set_num_threads(1)
    save_tensors(path, teacher_shard(start, count, settings))
    return path


def _check_teacher_settings(run: Path, teacher: TeacherSettings) -> None:
    """Record the teacher settings in RUN/data/teacher.json, or check them against the
    record: shards built with other settings must not be mixed in. ValueError if they were."""
    import dataclasses
    import json

    settings = dataclasses.asdict(teacher)
    record = run / "data" / "teacher.json"
    if record.exists():
        defaults = dataclasses.asdict(type(teacher)())  # settings added later keep defaults
        recorded = defaults | json.loads(record.read_text())
        if recorded != settings:
            changed = sorted(k for k in settings if recorded.get(k) != settings[k])
            raise ValueError(
                f"{run}/data was built with other teacher settings ({', '.join(changed)}: "
                f"{[recorded.get(k) for k in changed]}); start a new --run or pass the same "
                "settings"
            )
        return
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(settings, indent=2) + "\n")


def build_teacher_data(
    run: Path, entries: int, shard_size: int, workers: int, settings: TeacherSettings | None = None
) -> list[Path]:
    """Write the missing teacher shards of RUN/data (`settings`, default `TeacherSettings()`)
    in `workers` processes; returns all shard paths in entry order. ValueError when RUN/data
    was built with other teacher settings."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    from ffedit.cli.denormals import flush_denormals
    from ffedit.distill.teacher import TeacherSettings

    settings = settings or TeacherSettings()
    _check_teacher_settings(run, settings)
    shards = {
        run / "data" / f"shard-{start:07d}-{shard_size}.safetensors": start
        for start in range(0, entries, shard_size)
    }
    missing = {path: start for path, start in shards.items() if not path.exists()}
    bar = tqdm(total=len(shards), initial=len(shards) - len(missing), desc="teacher data",
               unit="shard")  # fmt: skip
    context = multiprocessing.get_context("spawn")  # no forked torch thread pools
    with ProcessPoolExecutor(workers, context, initializer=flush_denormals) as pool:
        jobs = [
            pool.submit(
                _teacher_shard_file, path, start, min(shard_size, entries - start), settings
            )
            for path, start in missing.items()
        ]
        for job in as_completed(jobs):
            job.result()
            bar.update(1)
    bar.close()
    return list(shards)


def _fit_superresolution(generator, faces: int, steps: int) -> None:
    """Fit the super-resolution head (frozen generator) with a progress bar; 0 steps skip."""
    if steps <= 0:
        return
    from tqdm import tqdm

    from ffedit.distill.superres import (
        SuperResolutionSettings,
        fit_superresolution,
        superresolution_data,
    )

    settings = SuperResolutionSettings(faces=faces, steps=steps)
    generator.eval()
    data = superresolution_data(generator, settings)
    with tqdm(total=steps, desc="super-resolution", unit="step") as bar:

        def on_step(step: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(l1=f"{loss:.3f}")

        final = fit_superresolution(generator, data, settings, on_step)
    print(f"super-resolution head fitted: L1 {final:.4f} over the last steps")


def _run_generator_config(args: argparse.Namespace, state: dict | None, initial=None):
    """The architecture to train: the one recorded in a resumed run's state, else the
    --init-from checkpoint's (`initial`), else --preset with --mapping-lr-multiplier and
    --channel-min applied; ValueError when the two disagree, or when the preset is unknown or
    its z is not synthface's (the teacher data's)."""
    import dataclasses

    from ffedit.config import PRESETS, GeneratorConfig
    from ffedit.synthface import LATENT_DIM

    if args.preset not in PRESETS:
        raise ValueError(f"unknown preset {args.preset!r}; choose one of {', '.join(PRESETS)}")
    if PRESETS[args.preset].z_dim != LATENT_DIM:
        raise ValueError(
            f"preset {args.preset} has a {PRESETS[args.preset].z_dim}-float z; distilling "
            f"synthface needs its {LATENT_DIM}-float latent (e.g. --preset synthface-128)"
        )
    overrides = {
        "mapping_lr_multiplier": args.mapping_lr_multiplier,
        "channel_min": args.channel_min,
    }
    overrides = {name: value for name, value in overrides.items() if value is not None}
    requested = dataclasses.replace(PRESETS[args.preset], **overrides)
    if state is not None and "generator_config" in state:
        recorded = GeneratorConfig.from_dict(state["generator_config"])
    elif initial is not None:
        recorded = initial
    else:
        return requested
    differing = [name for name in overrides if getattr(recorded, name) != overrides[name]]
    if differing:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in differing)
        values = ", ".join(f"{name} {getattr(recorded, name)}" for name in differing)
        raise ValueError(
            f"{args.run} (or --init-from) has another architecture ({values}); run it "
            f"without {flags} or start a new --run"
        )
    return recorded


def _initial_generator(path: str | None):
    """The --init-from checkpoint's generator (CPU), or None without one; CheckpointError
    for a folder that is not a checkpoint."""
    if path is None:
        return None
    from ffedit.io.checkpoint import load_generator

    return load_generator(path)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _train_generator(args: argparse.Namespace) -> int:
    import signal
    import time

    import torch
    from tqdm import tqdm

    from ffedit.device import resolve_device
    from ffedit.distill.teacher import TeacherSettings
    from ffedit.distill.train import (
        DistillConfig,
        Distiller,
        compile_for_training,
        set_mean_w,
    )
    from ffedit.generator import TriplaneGenerator
    from ffedit.io.adapters import ADAPTERS_FOLDER
    from ffedit.io.checkpoint import save_generator
    from ffedit.io.errors import CheckpointError
    from ffedit.io.tensors import load_tensors, load_training_state, save_training_state

    run = Path(args.run)
    device = resolve_device(args.device)
    teacher = {"views": args.views_per_entry, "zoom_out_max": args.zoom_out}
    teacher = {name: value for name, value in teacher.items() if value is not None}
    state_path = run / "train-state.pt"
    state = load_training_state(state_path) if state_path.exists() else None
    try:
        initial = _initial_generator(args.init_from) if state is None else None
        initial_config = None if initial is None else initial.config
        generator_config = _run_generator_config(args, state, initial_config)
        paths = build_teacher_data(
            run, args.entries, args.shard_size, args.data_workers, TeacherSettings(**teacher)
        )
    except (ValueError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    shards = [load_tensors(path) for path in paths]
    entries = {key: torch.cat([shard[key] for shard in shards]) for key in shards[0]}
    torch.manual_seed(0)
    generator = TriplaneGenerator(generator_config).to(device)
    config = DistillConfig(
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        total_steps=args.steps,
        teacher_mapping=not args.free_mapping,
    )
    distiller = Distiller(generator, entries, config)
    if initial is not None:  # after the Distiller has frozen the aligned mapping layer
        generator.load_state_dict(initial.state_dict())
    if args.compile:
        compile_for_training(generator)
    if state is not None:
        try:
            distiller.load_state_dict(state)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    deadline = None if args.max_minutes is None else time.monotonic() + 60 * args.max_minutes
    signal.signal(signal.SIGTERM, _interrupt)  # a killed run saves its state too
    bar = tqdm(total=args.steps, initial=distiller.step_index, desc="training", unit="step")
    interrupted = False
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
        interrupted = True
    finally:
        bar.close()
        save_training_state(state_path, distiller.state_dict())
    if interrupted:  # the user stopped it: no half-trained export
        print(
            f"interrupted at step {distiller.step_index}: the training state is saved in "
            f"{state_path}; the same command resumes it",
            file=sys.stderr,
        )
        return 130
    if args.export:
        set_mean_w(generator)
        _fit_superresolution(generator, args.superres_faces, args.superres_steps)
        save_generator(generator.eval().cpu(), args.export)
        print(f"wrote {args.export} at step {distiller.step_index}")
        if (Path(args.export) / ADAPTERS_FOLDER).is_dir():
            print(
                f"note: the adapters in {args.export}/{ADAPTERS_FOLDER} were trained on the "
                "previous weights; retrain them with `ffedit train-layout` if the geometry changed",
                file=sys.stderr,
            )
    return 0


def register_train_layout(subparsers: argparse._SubParsersAction) -> None:
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
    parser.add_argument("--views", type=name_list, help="use only these views (default: all)")
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

    ws = front_ws(generator, torch.stack([view.latent for view in views]))
    samples = [LayoutSample(w, v.camera, v.labels) for w, v in zip(ws, views, strict=True)]
    return layout, samples


def _train_layout(args: argparse.Namespace) -> int:
    import dataclasses

    import torch
    from tqdm import tqdm

    from ffedit.adapter import TRAINING_PRESETS, TooFewSamples, fit_adapter, predict_masks
    from ffedit.adapter.config import with_steps
    from ffedit.device import resolve_device
    from ffedit.io.adapters import SampleFolderError, save_adapter
    from ffedit.io.errors import CheckpointError
    from ffedit.layouts import InvalidMask, UnknownLayout
    from ffedit.layouts.metrics import iou_table, mean_iou

    set_torch_threads(args.threads)
    if args.preset not in TRAINING_PRESETS:
        known = ", ".join(TRAINING_PRESETS)
        print(f"error: unknown training preset {args.preset!r}; known: {known}", file=sys.stderr)
        return 1
    config = TRAINING_PRESETS[args.preset]
    if args.steps:
        config = with_steps(config, args.steps)
    if args.seed is not None:
        config = dataclasses.replace(config, seed=args.seed)
    device = resolve_device(args.device)
    try:
        generator = layout_generator(args.model, device)
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
