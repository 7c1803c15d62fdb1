"""`ffedit bench render`: render latency of a generator, median wall-clock seconds after a
warm-up, and the Markdown rows it keeps in the "Render latency" section of
docs/benchmarks.md (one row per preset, device, resolution and sample count).

Three timings per configuration, all deterministic renders from fixed ws: the tri-planes
alone, the volume render (planes included) without super-resolution, and the full render
with super-resolution. Peak memory is the CUDA allocator's peak on a GPU, and the process's
peak resident set (model included) on the CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ffedit.bench import report
from ffedit.camera import named_camera
from ffedit.cli.common import RENDER_CHUNK_RAYS
from ffedit.config import GeneratorConfig
from ffedit.device import resolve_device
from ffedit.generator.triplane import TriplaneGenerator

SECTION_TITLE = "Render latency"
SECTION_INTRO = (
    "Median wall-clock seconds of one deterministic render of one face at the front view "
    "(after one warm-up run), from fixed ws, with random weights of the named preset. "
    "*planes*: the tri-planes alone; *volume*: planes + volume rendering (no "
    "super-resolution); *+ SR*: the whole render with super-resolution. Peak memory: CUDA "
    "allocator peak on a GPU, process peak RSS (model included) on the CPU. Written by "
    "`ffedit bench render`; a rerun replaces its own row."
)
TABLE_HEADER = (
    "| preset | device | resolution | samples | rays/chunk | planes (s) | volume (s) "
    "| + SR (s) | peak memory | machine | date | command |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)
KEY_COLUMNS = 4  # preset, device, resolution, samples identify a row


@dataclass(frozen=True)
class RenderLatency:
    """Median seconds of each stage, and the peak memory in bytes."""

    planes_seconds: float
    volume_seconds: float
    full_seconds: float
    peak_memory_bytes: int


def with_samples(config: GeneratorConfig, coarse: int, importance: int) -> GeneratorConfig:
    """`config` with `coarse` stratified and `importance` importance samples per ray."""
    render = dataclasses.replace(
        config.render, depth_resolution=coarse, depth_resolution_importance=importance
    )
    return dataclasses.replace(config, render=render)


def median_seconds(
    runs: Sequence[Callable[[], object]], repeats: int, device: torch.device
) -> list[float]:
    """Median wall-clock seconds of each of `runs` over `repeats` rounds, after one warm-up
    round. Every round times all runs in turn, so load from other processes on a shared
    machine hits them alike."""
    for run in runs:
        run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, run_times in zip(runs, times, strict=True):
            _synchronize(device)
            start = time.perf_counter()
            run()
            _synchronize(device)
            run_times.append(time.perf_counter() - start)
    return [statistics.median(run_times) for run_times in times]


def measure_render_latency(
    config: GeneratorConfig,
    device: torch.device,
    *,
    resolution: int,
    repeats: int,
    chunk_rays: int | None,
    seed: int = 0,
) -> RenderLatency:
    """Latency of a randomly initialised generator built from `config` on `device`."""
    torch.manual_seed(seed)
    generator = TriplaneGenerator(config).eval().to(device)
    cameras = named_camera("front")[None].to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with torch.inference_mode():
        ws = generator.mapping(torch.randn(1, config.z_dim, device=device), cameras)

        def render(super_resolve: bool) -> Callable[[], object]:
            return lambda: generator.render(
                ws, cameras, resolution, super_resolve=super_resolve, chunk_rays=chunk_rays
            )

        runs = [lambda: generator.synthesize_planes(ws), render(False), render(True)]
        planes, volume, full = median_seconds(runs, repeats, device)
    return RenderLatency(planes, volume, full, _peak_memory_bytes(device))


def latency_row(
    *,
    preset: str,
    device: str,
    resolution: int,
    samples: tuple[int, int],
    chunk_rays: int | None,
    latency: RenderLatency,
    machine: str,
    date: str,
    command: str,
) -> str:
    """One Markdown table row; its first `KEY_COLUMNS` cells identify the configuration."""
    cells = [
        preset,
        device,
        f"{resolution}²",
        f"{samples[0]}+{samples[1]}",
        "all" if chunk_rays is None else str(chunk_rays),
        f"{latency.planes_seconds:.3f}",
        f"{latency.volume_seconds:.3f}",
        f"{latency.full_seconds:.3f}",
        f"{latency.peak_memory_bytes / 2**30:.2f} GiB",
        machine,
        date,
        f"`{command}`",
    ]
    return "| " + " | ".join(cells) + " |"


def latency_section(previous_body: str | None, row: str) -> str:
    """The section body: intro, table header and rows, `row` replacing the row with the
    same configuration in `previous_body` (rows are kept in their order, new ones last)."""
    rows = [] if previous_body is None else _table_rows(previous_body)
    key = _row_key(row)
    if any(_row_key(old) == key for old in rows):
        rows = [row if _row_key(old) == key else old for old in rows]
    else:
        rows.append(row)
    return "\n".join([SECTION_INTRO, "", TABLE_HEADER, *rows]) + "\n"


def _table_rows(body: str) -> list[str]:
    header_lines = set(TABLE_HEADER.splitlines())
    return [
        line
        for line in body.splitlines()
        if line.startswith("| ") and line not in header_lines and not line.startswith("|---")
    ]


def _row_key(row: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in row.strip("|").split("|")[:KEY_COLUMNS])


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if platform.system() == "Darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


DESCRIPTION = (
    "Time the tri-planes, the volume render and the super-resolved render of one face "
    "(random weights of a preset; median after a warm-up), print them, and optionally "
    "replace this configuration's row in the 'Render latency' section of a Markdown file."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> int:
    from ffedit.generator import PRESETS

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
    config = with_samples(config, coarse, importance)
    resolution = args.resolution or config.neural_rendering_resolution
    device = resolve_device(args.device)
    latency = measure_render_latency(
        config, device, resolution=resolution, repeats=args.repeats, chunk_rays=args.chunk_rays
    )
    described = report.describe_device(device)
    print(f"{args.preset} on {described}, {resolution}², {coarse}+{importance}")
    print(f"  planes:      {latency.planes_seconds:.3f} s")
    print(f"  volume:      {latency.volume_seconds:.3f} s (planes + volume rendering)")
    print(f"  + SR:        {latency.full_seconds:.3f} s (whole render, super-resolved)")
    print(f"  peak memory: {latency.peak_memory_bytes / 2**30:.2f} GiB")
    if args.markdown:
        from ffedit.io.markdown import read_markdown_section

        run_stamp = report.stamp(
            "render", args, resolution=resolution, samples=f"{coarse},{importance}"
        )
        row = latency_row(
            preset=args.preset,
            device=described,
            resolution=resolution,
            samples=(coarse, importance),
            chunk_rays=args.chunk_rays,
            latency=latency,
            machine=run_stamp.machine,
            date=run_stamp.date,
            command=run_stamp.command,
        )
        previous = read_markdown_section(args.markdown, SECTION_TITLE)
        body = latency_section(previous, row)
        report.publish(body, args.markdown, SECTION_TITLE, echo=False)
    return 0
