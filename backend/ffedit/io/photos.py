"""Photos a user brings in: JPEG or PNG bytes → an upright 8-bit RGB array, checked first.

The format is decided by content (`Image.open` with JPEG and PNG only), the pixel count is
read from the header and refused above `MAX_PHOTO_PIXELS` before anything is decoded, EXIF
orientation is applied (a phone's portrait photo stands up), and any mode (grey, palette,
alpha, CMYK) becomes RGB. Errors are `PhotoError`s whose message says what to do.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

from ffedit.photo.errors import PhotoError

MAX_PHOTO_PIXELS = 40_000_000
"""Largest photo decoded (a 40-megapixel camera's); larger ones are refused unread."""
MIN_PHOTO_SIDE = 64
PHOTO_FORMATS = ("JPEG", "PNG")


class NotAPhoto(PhotoError):
    """The bytes are not a JPEG or PNG image."""


class PhotoTooLarge(PhotoError):
    """The photo has more pixels than `MAX_PHOTO_PIXELS`."""


def read_photo(data: bytes, max_pixels: int = MAX_PHOTO_PIXELS) -> np.ndarray:
    """(H, W, 3) uint8 RGB of JPEG or PNG bytes, upright."""
    try:
        with Image.open(io.BytesIO(data), formats=list(PHOTO_FORMATS)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise PhotoTooLarge(
                    f"the photo is {width}×{height} pixels; at most {max_pixels // 1_000_000} "
                    "megapixels are read: scale it down first"
                )
            if min(width, height) < MIN_PHOTO_SIDE:
                raise PhotoError(
                    f"the photo is {width}×{height} pixels; at least {MIN_PHOTO_SIDE} on each "
                    "side are needed"
                )
            upright = ImageOps.exif_transpose(image)
            return np.asarray(upright.convert("RGB"), dtype=np.uint8).copy()
    except PhotoError:
        raise
    except Image.DecompressionBombError as error:
        raise PhotoTooLarge(f"the photo declares too many pixels to decode: {error}") from None
    except (OSError, SyntaxError, ValueError):
        raise NotAPhoto(
            "the file is not a JPEG or PNG photo this app can read: upload a .jpg or .png"
        ) from None
