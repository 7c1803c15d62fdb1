"""The face bundle: what `ffedit edit` writes to a folder and the app's export puts in a ZIP.

One writer, one set of names, for both:

    views/<view>.png           super-resolved RGB at front, left and right
    views/<view>-mask.png      the layout's mask (indexed PNG, mask resolution)
    views/<view>-overlay.png   the mask's colours over the RGB
    orbit.mp4                  the orbit video at `VIDEO_FPS` (orbit.gif without ffmpeg)

plus the files the caller adds (the CLI: `ws.safetensors` and `edit.json`; the export: the
ws and appearance arrays as .npy, the layout, its adapter, the face record and the face's
mesh as `mesh.glb` and `mesh.ply`, see `ffedit.io.meshes`). A bundle is
written through a sink, `sink(name, data)`: `folder_sink` writes files atomically,
`zipfile.ZipFile.writestr` adds ZIP members.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

import numpy as np

from ffedit.io.files import atomic_write_bytes
from ffedit.io.images import png_bytes
from ffedit.io.video import write_video
from ffedit.layouts import Layout, indexed_png_from_labels

BUNDLE_VIEWS = ("front", "left", "right")
"""The named views of a bundle."""
VIDEO_FPS = 12
"""Frames per second of the orbit video (as the page replays its orbit): the default 24-frame
orbit of an export lasts 2 s."""
ORBIT_NAME = "orbit.mp4"

Sink = Callable[[str, bytes], object]
"""Writes one file of the bundle: (relative name, bytes)."""


class ViewImages(Protocol):
    """One face at one view (`ffedit.edit.views.ViewRender` is one)."""

    rgb: np.ndarray
    labels: np.ndarray
    overlay: np.ndarray


def folder_sink(folder: str | Path) -> Sink:
    """A sink writing each file atomically under `folder`."""
    return lambda name, data: atomic_write_bytes(Path(folder) / name, data)


def write_face_bundle(
    sink: Sink,
    views: Mapping[str, ViewImages],
    layout: Layout,
    orbit: Iterable[np.ndarray] | None,
    extra_files: Mapping[str, bytes],
) -> str | None:
    """Write the views (RGB, mask, overlay), the orbit video of the frames `orbit` (None: no
    video) and `extra_files`; returns the video's file name (None without one)."""
    for view, images in views.items():
        sink(f"views/{view}.png", png_bytes(images.rgb))
        sink(f"views/{view}-mask.png", indexed_png_from_labels(images.labels, layout))
        sink(f"views/{view}-overlay.png", png_bytes(images.overlay))
    video = None
    if orbit is not None:
        with tempfile.TemporaryDirectory(prefix="ffedit-orbit-") as folder:
            written = write_video(Path(folder) / ORBIT_NAME, orbit, VIDEO_FPS)
            sink(written.name, written.read_bytes())
            video = written.name
    for name, data in extra_files.items():
        sink(name, data)
    return video
