"""Reading uploaded photos: JPEG and PNG by content, upright, RGB; too large, too small and
not-a-photo refused before decoding with what to do."""

import io

import numpy as np
import pytest
from PIL import Image

from ffedit.io.photos import NotAPhoto, PhotoTooLarge, read_photo
from ffedit.photo import PhotoError


def _encoded(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_png_and_jpeg_read_as_rgb_of_their_size():
    pixels = np.zeros((80, 120, 3), dtype=np.uint8)
    pixels[:, :60] = (200, 30, 30)
    for fmt in ("PNG", "JPEG"):
        photo = read_photo(_encoded(pixels, fmt))
        assert photo.shape == (80, 120, 3) and photo.dtype == np.uint8
        assert abs(int(photo[40, 10, 0]) - 200) < 8


def test_grey_and_alpha_photos_become_rgb():
    assert read_photo(_encoded(np.full((70, 70), 50, np.uint8), "PNG")).shape == (70, 70, 3)
    rgba = np.full((70, 70, 4), 255, np.uint8)
    assert read_photo(_encoded(rgba, "PNG")).shape == (70, 70, 3)


def test_exif_orientation_stands_the_photo_up():
    image = Image.fromarray(np.zeros((80, 120, 3), dtype=np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # rotated 90° clockwise when shown
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert read_photo(buffer.getvalue()).shape == (120, 80, 3)


def test_not_a_photo_too_large_and_too_small_are_refused():
    with pytest.raises(NotAPhoto, match=r"upload a \.jpg or \.png"):
        read_photo(b"GIF89a not really")
    gif = io.BytesIO()
    Image.fromarray(np.zeros((80, 80, 3), np.uint8)).save(gif, format="GIF")
    with pytest.raises(NotAPhoto):
        read_photo(gif.getvalue())
    with pytest.raises(PhotoTooLarge, match="scale it down"):
        read_photo(_encoded(np.zeros((100, 100, 3), np.uint8), "PNG"), max_pixels=5000)
    with pytest.raises(PhotoError, match="at least 64"):
        read_photo(_encoded(np.zeros((40, 100, 3), np.uint8), "PNG"))
