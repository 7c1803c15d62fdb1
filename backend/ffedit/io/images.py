"""PNG images on disk and in memory: 8-bit numpy arrays in, 8-bit numpy arrays out.

`save_png` writes atomically (see `ffedit.io.files`). `load_png` decides by content, not
by file name, whether it was given a PNG, and says so clearly when it was not.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from ffedit.io.files import atomic_write_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# PIL mode of the stored PNG → mode of the returned array (palette images keep their indices).
_ARRAY_MODES = {"1": "L", "L": "L", "LA": "RGBA", "P": "P", "RGB": "RGB", "RGBA": "RGBA"}


class InvalidImage(ValueError):
    """The bytes or array are not an image this project can read or write."""


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) a PNG declares, read from its header alone (nothing is decoded).

    `InvalidImage` for data that is not a readable PNG, and for one that declares more pixels
    than Pillow decodes at all (its `DecompressionBombError`).
    """
    if not data.startswith(PNG_SIGNATURE):
        raise InvalidImage("the data is not a PNG image (no PNG signature)")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            return image.size
    except Image.DecompressionBombError as error:
        raise InvalidImage(f"the PNG declares too many pixels to decode: {error}") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise InvalidImage(f"the PNG header cannot be read: {error}") from error


def png_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 (H, W) grey or (H, W, 3) RGB array as PNG bytes."""
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        raise InvalidImage(f"expected a uint8 numpy array, got {_describe(array)}")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise InvalidImage(f"expected shape (H, W) or (H, W, 3), got {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidImage(f"image has no pixels: shape {array.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write a uint8 (H, W) or (H, W, 3) array to `path` as PNG, atomically; returns the path."""
    return atomic_write_bytes(path, png_bytes(array))


def load_png(source: str | os.PathLike | bytes) -> np.ndarray:
    """Decode a PNG file (path) or PNG bytes into a uint8 array.

    Grey images give (H, W); palette images give (H, W) palette indices; RGB gives
    (H, W, 3); images with alpha give (H, W, 4) RGBA. Anything that is not a PNG by content
    raises `InvalidImage`, whatever its file name.
    """
    data = bytes(source) if isinstance(source, bytes | bytearray) else Path(source).read_bytes()
    name = "data" if isinstance(source, bytes | bytearray) else str(source)
    if not data.startswith(PNG_SIGNATURE):
        raise InvalidImage(f"{name} is not a PNG image (no PNG signature)")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()
            mode = _ARRAY_MODES.get(image.mode)
            if mode is None:
                raise InvalidImage(f"{name}: PNG mode {image.mode!r} is not supported (8-bit only)")
            return np.asarray(image if image.mode == mode else image.convert(mode)).copy()
    except InvalidImage:
        raise
    except (OSError, SyntaxError, ValueError) as error:
        raise InvalidImage(f"{name} is a truncated or corrupt PNG: {error}") from error


def _describe(value: object) -> str:
    dtype = getattr(value, "dtype", None)
    return f"{type(value).__name__} of {dtype}" if dtype is not None else type(value).__name__
