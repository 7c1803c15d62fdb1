"""Render latency of a generator: median wall-clock seconds after a warm-up, and the
Markdown rows `ffedit bench render` keeps in the "Render latency" section of
docs/benchmarks.md (one row per preset, device, resolution and sample count).

Three timings per configuration, all deterministic renders from fixed ws: the tri-planes
alone, the volume render (planes included) without super-resolution, and the full render
with super-resolution. Peak memory is the CUDA allocator's peak on a GPU, and the process's
peak resident set (model included) on the CPU.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ffedit.camera import named_camera
from ffedit.config import GeneratorConfig
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


def describe_machine() -> str:
    """OS, architecture, CPU count, torch threads and the 1-minute load average (other
    processes competing for the CPUs inflate CPU timings), e.g. 'Linux x86_64, 2 CPUs, …'."""
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"load {os.getloadavg()[0]:.1f}"
    )


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


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
