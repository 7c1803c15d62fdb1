"""PNG round trips, content-based format checks and atomic writes."""

import io
import os
import stat

import numpy as np
import pytest
from PIL import Image

from ffedit.io.files import atomic_folder, atomic_write_bytes
from ffedit.io.images import InvalidImage, load_png, save_png


def _random_image(shape):
    return np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3)])
def test_save_then_load_is_lossless(tmp_path, shape):
    array = _random_image(shape)
    path = save_png(tmp_path / "sub" / "image.png", array)
    loaded = load_png(path)
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, array)
    np.testing.assert_array_equal(load_png(path.read_bytes()), array)


def test_write_leaves_no_temporary_files(tmp_path):
    save_png(tmp_path / "a.png", _random_image((4, 4, 3)))
    save_png(tmp_path / "a.png", _random_image((2, 2)))
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    assert load_png(tmp_path / "a.png").shape == (2, 2)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((4, 4), dtype=np.float32),
        np.zeros((4, 4, 4), dtype=np.uint8),
        np.zeros((4,), dtype=np.uint8),
        np.zeros((0, 4), dtype=np.uint8),
    ],
)
def test_save_rejects_unsupported_arrays(tmp_path, array):
    with pytest.raises(InvalidImage):
        save_png(tmp_path / "x.png", array)
    assert not (tmp_path / "x.png").exists()


def test_load_checks_content_not_name(tmp_path):
    jpeg = io.BytesIO()
    Image.fromarray(_random_image((8, 8, 3))).save(jpeg, format="JPEG")
    fake = tmp_path / "photo.png"
    fake.write_bytes(jpeg.getvalue())
    with pytest.raises(InvalidImage, match="not a PNG"):
        load_png(fake)
    real = tmp_path / "misnamed.jpg"
    save_png(real, _random_image((3, 3)))
    assert load_png(real).shape == (3, 3)


def test_load_reports_truncated_png():
    data = io.BytesIO()
    Image.fromarray(_random_image((64, 64, 3))).save(data, format="PNG")
    with pytest.raises(InvalidImage, match="truncated or corrupt"):
        load_png(data.getvalue()[:200])


def test_load_keeps_alpha_and_palette_indices():
    rgba = _random_image((3, 4, 4))
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    np.testing.assert_array_equal(load_png(buffer.getvalue()), rgba)

    indices = np.arange(12, dtype=np.uint8).reshape(3, 4)
    palette_image = Image.fromarray(indices, mode="P")
    palette_image.putpalette(list(range(256)) * 3)
    buffer = io.BytesIO()
    palette_image.save(buffer, format="PNG")
    np.testing.assert_array_equal(load_png(buffer.getvalue()), indices)


def test_atomic_write_bytes_replaces_content(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_written_files_and_folders_get_umask_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    file = atomic_write_bytes(tmp_path / "f.bin", b"x")
    with atomic_folder(tmp_path / "folder") as staging:
        (staging / "a.txt").write_text("1")
    assert stat.S_IMODE(file.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o777 & ~umask


def test_atomic_folder_replaces_whole_folder_or_nothing(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_folder(target) as staging:
        (staging / "a.txt").write_text("1")
    assert (target / "a.txt").read_text() == "1"

    with pytest.raises(RuntimeError), atomic_folder(target) as staging:
        (staging / "b.txt").write_text("2")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]

    with atomic_folder(target) as staging:
        (staging / "c.txt").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
