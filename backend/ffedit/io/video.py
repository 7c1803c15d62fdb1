"""Videos on disk: MP4 through the ffmpeg binary bundled with `imageio-ffmpeg`, GIF as fallback.

`write_video` streams uint8 RGB frames as raw video into ffmpeg's stdin (H.264, yuv420p,
odd sizes padded to even, `+faststart` so browsers can play it while loading); no network is
ever used. Where the ffmpeg binary is unavailable (package missing, or a platform it has no
build for), the same frames go to an animated GIF written by Pillow, next to the requested
path with the suffix `.gif`. Either is encoded in a temporary folder and then written with
`atomic_write_bytes`, so a reader never sees half a video.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from ffedit.io.files import atomic_write_bytes

VIDEO_SUFFIXES = (".mp4", ".gif")


class VideoError(RuntimeError):
    """Frames that cannot form a video, or an encoder that failed."""


def ffmpeg_executable() -> str | None:
    """Path of the ffmpeg binary bundled with `imageio-ffmpeg`, or None without one."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return None


def _check_frame(frame: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3:
        raise VideoError(f"frames are uint8 (H, W, 3) arrays, got {getattr(frame, 'shape', frame)}")
    if frame.shape[2] != 3 or (shape is not None and frame.shape != shape):
        raise VideoError(f"every frame must be {shape or '(H, W, 3)'}, got {frame.shape}")
    return np.ascontiguousarray(frame)


def _ffmpeg_command(executable: str, width: int, height: int, fps: float, out: Path) -> list[str]:
    return [
        executable,
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-r",
        f"{fps}",
        "-i",
        "-",
        "-vf",
        "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(out),
    ]


def _write_mp4(executable: str, frames: Iterable[np.ndarray], fps: float, out: Path) -> None:
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise VideoError("a video needs at least one frame")
    first = _check_frame(first, None)
    height, width, _ = first.shape
    command = _ffmpeg_command(executable, width, height, fps, out)
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for frame in itertools.chain([first], iterator):
            data = _check_frame(frame, first.shape).tobytes()
            try:
                process.stdin.write(data)
            except BrokenPipeError:  # ffmpeg stopped reading; its exit status says why
                break
    except BaseException:
        process.kill()
        with contextlib.suppress(OSError):
            process.stdin.close()
        process.wait()
        raise
    with contextlib.suppress(BrokenPipeError):
        process.stdin.close()
    errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.wait() != 0:
        raise VideoError(f"ffmpeg failed ({process.returncode}): {errors.strip()[-500:]}")


def _write_gif(frames: Iterable[np.ndarray], fps: float, out: Path) -> None:
    images, shape = [], None
    for frame in frames:
        frame = _check_frame(frame, shape)
        shape = frame.shape
        images.append(Image.fromarray(frame))
    if not images:
        raise VideoError("a video needs at least one frame")
    duration = max(round(1000 / fps), 20)
    images[0].save(
        out, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
    )


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float = 30.0,
    *,
    ffmpeg: str | None = None,
) -> Path:
    """Write uint8 (H, W, 3) frames as a video; returns the path written.

    `path` ending in `.mp4` gives an H.264 MP4 through ffmpeg (`ffmpeg`: the binary to use,
    default `ffmpeg_executable()`); without ffmpeg the frames go to `path` with the suffix
    `.gif` instead. `path` ending in `.gif` always gives a GIF. Frames may be a generator:
    the MP4 path streams them without holding them all.
    """
    target = Path(path)
    if target.suffix.lower() not in VIDEO_SUFFIXES:
        raise VideoError(f"video paths end in {' or '.join(VIDEO_SUFFIXES)}, not {target.name!r}")
    executable = None
    if target.suffix.lower() == ".mp4":
        executable = ffmpeg or ffmpeg_executable()
    if executable is None:
        target = target.with_suffix(".gif")
    with tempfile.TemporaryDirectory(prefix="ffedit-video-") as folder:
        encoded = Path(folder) / f"video{target.suffix}"
        if executable is not None:
            _write_mp4(executable, frames, fps, encoded)
        else:
            _write_gif(frames, fps, encoded)
        return atomic_write_bytes(target, encoded.read_bytes())
