"""`ffedit invert` on a tiny checkpoint: a synthface photo becomes an editable face folder;
a file that is no photo, or a photo without a face, is refused and nothing is written."""

import io
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from ffedit.camera import camera_from_angles
from ffedit.cli import main
from ffedit.io.checkpoint import save_generator
from ffedit.io.tensors import load_tensors
from ffedit.synthface import face_from_latent, latent_from_seed, render_face

FAST = ["--w-steps", "2", "--wplus-steps", "1", "--resolution", "32", "--threads", "1"]


@pytest.fixture(scope="module")
def model(tmp_path_factory, generator):
    folder = tmp_path_factory.mktemp("invert-cli") / "model"
    save_generator(generator, folder)
    return folder


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    camera = camera_from_angles(math.pi / 2 - 0.2, math.pi / 2)
    rgb = render_face(face_from_latent(latent_from_seed(5)[None]), camera[None], 256).rgb[0]
    pixels = ((rgb + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0)
    path = tmp_path_factory.mktemp("photos") / "face.jpg"
    Image.fromarray(pixels.numpy()).save(path, quality=92)
    return path


def test_a_photo_becomes_an_editable_face_folder(model, photo, generator, tmp_path):
    out = tmp_path / "face"
    assert main(["invert", str(photo), "--out", str(out), "--model", str(model), *FAST]) == 0
    tensors = load_tensors(out / "ws.safetensors")
    expected = (generator.config.num_ws, generator.config.w_dim)
    assert tuple(tensors["ws"].shape) == expected == tuple(tensors["w_ws"].shape)
    record = json.loads((out / "invert.json").read_text())
    assert len(record["losses"]) == 3 and len(record["landmarks"]) == 5
    assert abs(record["landmark_fit"]["yaw"] - (math.pi / 2 - 0.2)) < 0.15
    side = generator.config.neural_rendering_resolution
    assert Image.open(out / "aligned.png").size == (side, side)
    assert Image.open(out / "input-view.png").size == (2 * side, side)
    for view in ("front", "left", "right"):
        assert (out / "views" / f"{view}-mask.png").is_file()


def test_a_file_that_is_no_photo_is_refused_and_nothing_is_written(model, tmp_path, capsys):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    out = tmp_path / "face"
    assert main(["invert", str(bad), "--out", str(out), "--model", str(model), *FAST]) == 1
    assert "not a JPEG or PNG" in capsys.readouterr().err
    assert not out.exists()


def test_a_photo_without_a_face_is_refused_with_what_to_do(model, tmp_path, capsys):
    blank = tmp_path / "wall.png"
    buffer = io.BytesIO()
    Image.fromarray(np.full((200, 300, 3), 90, dtype=np.uint8)).save(buffer, format="PNG")
    blank.write_bytes(buffer.getvalue())
    out = tmp_path / "face"
    assert main(["invert", str(blank), "--out", str(out), "--model", str(model), *FAST]) == 1
    assert "no face was found" in capsys.readouterr().err
    assert not out.exists()
