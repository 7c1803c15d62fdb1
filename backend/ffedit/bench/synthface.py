"""`ffedit bench synthface`: the synthface population benchmark.

Over a seed range × views: how often each fine label appears and what share of the pixels
it covers, per-class pixel shares in layouts (next to the FFaceNeRF data's shares from
method.md §2), accessory rates, that nothing leaves the [-0.5, 0.5]³ box, and the render
time of one view, and the Markdown section of it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch

from ffedit.bench import report
from ffedit.camera import named_camera, unpack_cameras
from ffedit.cli.common import name_list, seed_range, synthface_setup
from ffedit.layouts import FINE_LABEL_IDS, FINE_LABELS, Layout, labels_from_fine
from ffedit.render import rays_from_cameras
from ffedit.synthface.field import sample_points
from ffedit.synthface.params import faces_from_seeds
from ffedit.synthface.render import render_face

SECTION_TITLE = "synthface"
ACCESSORIES = ("glasses", "hat", "earrings", "necklace")
_ACCESSORY_LABELS = {
    "glasses": "glasses",
    "hat": "hat",
    "earrings": "earring",
    "necklace": "necklace",
}
# Pixel shares (%) of the FFaceNeRF data's base labels over its 81 faces (method.md §2).
REFERENCE_BASE17_SHARES = {
    "background": 27.2, "skin": 29.1, "brow": 0.96, "eye": 0.11, "glasses": 2.05, "ear": 1.04,
    "earring": 0.008, "nose": 2.03, "mouth": 0.33, "lip": 1.14, "neck": 7.37, "necklace": 0.02,
    "cloth": 4.85, "hair": 22.6, "hat": 0.91, "nasal_ala": 0.25, "iris": 0.12,
}  # fmt: skip
REFERENCE_EYES19_PIXELS = {"pupil": 4.7, "eyelid": 38.9}
"""Mean pixels per 128² image of the FFaceNeRF eyes labels (10 images, method.md §2)."""


@dataclass(frozen=True)
class PopulationStats:
    """Label statistics of a face population at some views."""

    seeds: tuple[int, ...]
    views: tuple[str, ...]
    resolution: int
    fine_pixels: dict[str, int]
    """Total pixels of each fine label over all images."""
    fine_images: dict[str, int]
    """Number of images in which each fine label covers at least one pixel."""
    class_pixels: dict[str, dict[str, list[int]]]
    """Per layout and class: pixels per view (in `views` order) summed over faces."""
    accessory_faces: dict[str, int]
    """Faces wearing each accessory (parameter > 0)."""
    accessory_images: dict[str, int]
    """Images in which each accessory is visible."""
    open_mouths: int
    """Faces with mouth_open > 0."""
    teeth_images: int
    """Images in which teeth are visible."""
    max_surface_coordinate: float
    """Largest |x|, |y| or |z| of any rendered surface point (must stay below 0.5)."""
    max_box_density: float
    """Largest density on a 41² grid on each face of the box, over all faces."""

    @property
    def num_images(self) -> int:
        return len(self.seeds) * len(self.views)


def _box_surface_points(steps: int = 41) -> torch.Tensor:
    grid = torch.linspace(-0.5, 0.5, steps)
    u, v = (t.reshape(-1) for t in torch.meshgrid(grid, grid, indexing="ij"))
    sides = []
    for axis in range(3):
        for side in (-0.5, 0.5):
            coords = [u, v]
            coords.insert(axis, torch.full_like(u, side))
            sides.append(torch.stack(coords, -1))
    return torch.cat(sides)


def population_statistics(
    seeds: list[int],
    views: list[str],
    resolution: int,
    layouts: list[Layout],
    on_face: Callable[[int], None] | None = None,
) -> PopulationStats:
    """Render every seed at every view and gather `PopulationStats` (on_face(i) after each)."""
    cameras = torch.stack([named_camera(view) for view in views])
    origins, directions = rays_from_cameras(*unpack_cameras(cameras), resolution)
    box_points = _box_surface_points()
    fine_pixels = torch.zeros(len(FINE_LABELS), dtype=torch.long)
    fine_images = torch.zeros(len(FINE_LABELS), dtype=torch.long)
    class_pixels = {
        layout.name: torch.zeros(layout.num_classes, len(views), dtype=torch.long)
        for layout in layouts
    }
    accessory_faces = dict.fromkeys(ACCESSORIES, 0)
    accessory_images = dict.fromkeys(ACCESSORIES, 0)
    open_mouths = teeth_images = 0
    max_coordinate = max_density = 0.0
    for index, seed in enumerate(seeds):
        face = faces_from_seeds([seed])
        render = render_face(face, cameras, resolution)
        labels = render.fine_labels.reshape(len(views), -1)
        counts = torch.stack([torch.bincount(view, minlength=len(FINE_LABELS)) for view in labels])
        fine_pixels += counts.sum(0)
        fine_images += (counts > 0).sum(0)
        for layout in layouts:
            classes = labels_from_fine(labels, layout)
            class_pixels[layout.name] += torch.stack(
                [torch.bincount(view, minlength=layout.num_classes) for view in classes], 1
            )
        for name in ACCESSORIES:
            accessory_faces[name] += int(face.parameter(name).item() > 0)
            accessory_images[name] += int(
                (counts[:, FINE_LABEL_IDS[_ACCESSORY_LABELS[name]]] > 0).sum()
            )
        open_mouths += int(face.parameter("mouth_open").item() > 0)
        teeth_images += int((counts[:, FINE_LABEL_IDS["teeth"]] > 0).sum())
        foreground = labels > 0
        surface = origins + render.depth.reshape(len(views), -1, 1) * directions
        max_coordinate = max(max_coordinate, surface[foreground].abs().max().item())
        max_density = max(max_density, sample_points(face, box_points).density.max().item())
        if on_face is not None:
            on_face(index)
    return PopulationStats(
        seeds=tuple(seeds),
        views=tuple(views),
        resolution=resolution,
        fine_pixels=dict(zip(FINE_LABELS, fine_pixels.tolist(), strict=True)),
        fine_images=dict(zip(FINE_LABELS, fine_images.tolist(), strict=True)),
        class_pixels={
            layout.name: {
                name: pixels.tolist()
                for name, pixels in zip(layout.class_names, class_pixels[layout.name], strict=True)
            }
            for layout in layouts
        },
        accessory_faces=accessory_faces,
        accessory_images=accessory_images,
        open_mouths=open_mouths,
        teeth_images=teeth_images,
        max_surface_coordinate=max_coordinate,
        max_box_density=max_density,
    )


class RenderSeconds(NamedTuple):
    """Median seconds of one render."""

    wall: float
    """Wall-clock seconds (what a user waits; grows when other processes share the CPU)."""
    cpu: float
    """CPU seconds of this process, all torch threads summed (with one thread: the
    wall-clock time the render would take on an otherwise idle core)."""


def median_render_seconds(seeds: list[int], view: str, resolution: int) -> RenderSeconds:
    """Median wall-clock and CPU seconds of `render_face` (RGB + labels + depth) of one view,
    one face per seed, after one warm-up render."""
    camera = named_camera(view)
    render_face(faces_from_seeds(seeds[:1]), camera, resolution)
    wall, cpu = [], []
    for seed in seeds:
        face = faces_from_seeds([seed])
        start, start_cpu = time.perf_counter(), time.process_time()
        render_face(face, camera, resolution)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return RenderSeconds(statistics.median(wall), statistics.median(cpu))


def _percent(part: float, whole: float) -> str:
    share = 100 * part / whole
    return f"{share:.3g}" if share >= 0.001 or share == 0 else f"{share:.1e}"


def synthface_section(
    stats: PopulationStats,
    render_seconds: RenderSeconds,
    timing_seeds: int,
    machine: str,
    date: str,
    command: str,
) -> str:
    """The Markdown body of the `synthface` section of docs/benchmarks.md."""
    n_images = stats.num_images
    pixels = n_images * stats.resolution**2
    seeds = f"{stats.seeds[0]}…{stats.seeds[-1]}" if len(stats.seeds) > 1 else str(stats.seeds[0])
    missing = [name for name, count in stats.fine_images.items() if count == 0]
    appears = f"no; missing: {', '.join(missing)}" if missing else "yes"
    lines = [
        f"{len(stats.seeds)} faces (seeds {seeds}) × views {', '.join(stats.views)} at "
        f"{stats.resolution}² ({n_images} images), rendered with `render_face`. "
        f"Machine: {machine}. Date: {date}. Command: `{command}`.",
        "",
        f"- **Every fine label appears**: {appears}.",
        f"- **Inside the box**: largest |coordinate| of a rendered surface point "
        f"{stats.max_surface_coordinate:.3f} (limit 0.5); largest density on the box faces "
        f"{stats.max_box_density:.2e}.",
        f"- **Render time** (one {stats.resolution}² view: RGB + fine labels + depth, front, "
        f"median of {timing_seeds} faces after a warm-up): **{render_seconds.wall:.3f} s** "
        f"wall-clock, {render_seconds.cpu:.3f} s CPU time (all torch threads).",
        "- **Accessories** (faces wearing / images showing): "
        + "; ".join(
            f"{name} {_percent(stats.accessory_faces[name], len(stats.seeds))} % / "
            f"{_percent(stats.accessory_images[name], n_images)} %"
            for name in ACCESSORIES
        )
        + f"; mouth open {_percent(stats.open_mouths, len(stats.seeds))} % of faces, teeth "
        f"visible in {_percent(stats.teeth_images, n_images)} % of images.",
        "",
        "Fine labels: share of all pixels (%) and of images showing the label (%).",
        "",
        "| fine label | pixels % | images % |",
        "|---|---|---|",
    ]
    lines += [
        f"| {name} | {_percent(stats.fine_pixels[name], pixels)} | "
        f"{_percent(stats.fine_images[name], n_images)} |"
        for name in FINE_LABELS
    ]
    for layout_name, classes in stats.class_pixels.items():
        front = stats.views.index("front") if "front" in stats.views else None
        header = "| class | pixels % (all views) | mean px per image |"
        rule = "|---|---|---|"
        if front is not None:
            header += " mean px per front image |"
            rule += "---|"
        if layout_name == "base17":
            header += " FFaceNeRF data % (method.md §2) |"
            rule += "---|"
        if layout_name == "eyes19":
            header += " FFaceNeRF eyes data, px per image (mixed views) |"
            rule += "---|"
        lines += ["", f"Layout `{layout_name}`: per-class pixel shares.", "", header, rule]
        for name, per_view in classes.items():
            row = f"| {name} | {_percent(sum(per_view), pixels)} | {sum(per_view) / n_images:.1f} |"
            if front is not None:
                row += f" {per_view[front] / len(stats.seeds):.1f} |"
            if layout_name == "base17":
                row += f" {REFERENCE_BASE17_SHARES.get(name, '')} |"
            if layout_name == "eyes19":
                row += f" {REFERENCE_EYES19_PIXELS.get(name, '')} |"
            lines.append(row)
    return "\n".join(lines) + "\n"


DESCRIPTION = (
    "Render faces START … START+COUNT−1 at the views, gather fine-label and layout pixel "
    "shares, accessory rates and the box check, time one view, print a summary and "
    "optionally replace the 'synthface' section of a Markdown file."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--faces", type=seed_range, default="0:200", help="START:COUNT (0:200)")
    parser.add_argument("--views", type=name_list, default="front,left,right", help="named views")
    parser.add_argument(
        "--layouts", type=name_list, default="base17,eyes19,nose19,chin20", help="layouts"
    )
    parser.add_argument("--resolution", type=int, default=128, help="image side (128)")
    parser.add_argument("--timing-faces", type=int, default=10, help="faces timed (10)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--markdown", help="Markdown file whose 'synthface' section to update")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ffedit.layouts import UnknownLayout

    try:
        layouts = synthface_setup(args.views, args.layouts, args.threads)
    except (KeyError, UnknownLayout) as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    faces = args.faces
    timing_seeds = faces[: args.timing_faces]
    seconds = median_render_seconds(timing_seeds, "front", args.resolution)
    with tqdm(total=len(faces), desc="faces", unit="face") as progress:
        stats = population_statistics(
            faces, args.views, args.resolution, layouts, on_face=lambda _: progress.update()
        )
    run_stamp = report.stamp("synthface", args)
    body = synthface_section(
        stats, seconds, len(timing_seeds), run_stamp.machine, run_stamp.date, run_stamp.command
    )
    report.publish(body, args.markdown, SECTION_TITLE)
    return 0
