"""Mask codecs: indexed and colour PNG round trips, tolerance, and clear errors."""

import io

import numpy as np
import pytest
from PIL import Image

from ffedit.layouts import (
    InvalidMask,
    color_png_from_labels,
    colors_from_labels,
    get_layout,
    indexed_png_from_labels,
    labels_from_colors,
    labels_from_png,
)
from ffedit.layouts.codecs import nearest_classes, unknown_colors_message

EYES = get_layout("eyes19")


def _labels(num_classes, shape=(13, 17)):
    return np.random.default_rng(0).integers(0, num_classes, size=shape)


def test_indexed_png_round_trip_embeds_the_palette():
    labels = _labels(EYES.num_classes)
    data = indexed_png_from_labels(labels, EYES)
    image = Image.open(io.BytesIO(data))
    assert image.mode == "P"
    palette = np.array(image.getpalette()[: 3 * EYES.num_classes]).reshape(-1, 3)
    np.testing.assert_array_equal(palette, EYES.colors)
    np.testing.assert_array_equal(labels_from_png(data, EYES), labels)


def test_colour_png_round_trip():
    labels = _labels(EYES.num_classes)
    data = color_png_from_labels(labels, EYES)
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    np.testing.assert_array_equal(labels_from_png(data, EYES), labels)


def test_colours_within_one_step_decode_and_transparent_pixels_are_background():
    labels = _labels(EYES.num_classes)
    rgb = colors_from_labels(labels, EYES).astype(np.int16)
    rgb += np.where(rgb < 255, 1, -1)  # every channel off by one
    np.testing.assert_array_equal(labels_from_colors(rgb.astype(np.uint8), EYES), labels)
    rgba = np.concatenate([rgb, np.full((*labels.shape, 1), 255)], -1).astype(np.uint8)
    rgba[0, 0] = (9, 99, 9, 0)
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    decoded = labels_from_png(buffer.getvalue(), EYES)
    assert decoded[0, 0] == 0
    np.testing.assert_array_equal(decoded.reshape(-1)[1:], labels.reshape(-1)[1:])


def test_unknown_colours_are_summed_up_with_their_nearest_classes():
    rgb = colors_from_labels(np.zeros((4, 5), dtype=np.int64), EYES)
    rgb[0, :3] = (0, 200, 200)  # FFaceNeRF's mis-painted jaw colour: nearest to mouth's
    rgb[1, :2] = (132, 212, 250)  # skin, off by 5
    rgb[2, 0] = (3, 3, 3)  # nearly black: background
    with pytest.raises(InvalidMask) as error:
        labels_from_colors(rgb, EYES)
    assert str(error.value) == (
        "6 pixels have colours that are not in layout 'eyes19' (3 different colours); "
        "nearest classes: mouth (3 pixels), skin (2 pixels), background (1 pixel); "
        "save the mask as an indexed PNG or paint only with the layout's colours"
    )


def test_the_summary_stays_short_for_any_number_of_colours():
    colors = np.random.default_rng(0).integers(0, 256, (200_000, 3))
    message = unknown_colors_message(
        nearest_classes(colors, EYES), np.ones(len(colors), np.int64), EYES
    )
    assert message.startswith("200,000 pixels") and "(200,000 different colours)" in message
    assert message.count(" pixels)") == 3 and len(message) < 400
    assert unknown_colors_message(np.array([0]), np.array([1]), EYES).startswith(
        "1 pixel has a colour that is not in layout 'eyes19' (1 different colour); "
        "nearest classes: background (1 pixel);"
    )


def test_indexed_png_with_indices_beyond_the_layout_is_rejected():
    data = indexed_png_from_labels(np.full((3, 3), 18), EYES)
    np.testing.assert_array_equal(labels_from_png(data, EYES), 18)
    with pytest.raises(InvalidMask, match="must be < 17"):
        labels_from_png(data, get_layout("base17"))


def test_bad_label_maps_and_bytes_are_rejected():
    with pytest.raises(InvalidMask, match=r"\[0, 18\]"):
        indexed_png_from_labels(np.full((2, 2), 19), EYES)
    with pytest.raises(InvalidMask, match="integer"):
        colors_from_labels(np.zeros((2, 2), dtype=np.float32), EYES)
    with pytest.raises(InvalidMask, match="not a readable PNG"):
        labels_from_png(b"not a png", EYES)
