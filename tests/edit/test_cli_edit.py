"""`ffedit edit` and `ffedit bench edits` on a tiny checkpoint with fresh adapters."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from ffedit.adapter import GeometryAdapter
from ffedit.camera import named_camera
from ffedit.cli import main
from ffedit.generator import ws_from_seed
from ffedit.io.adapters import save_adapter
from ffedit.io.checkpoint import save_generator
from ffedit.layouts import color_png_from_labels, get_layout, labels_from_png

BASE15 = get_layout("base15")


@pytest.fixture(scope="module")
def model(tmp_path_factory, generator):
    """A tiny checkpoint folder with a fresh eyes19 adapter (no base15 adapter: the
    generator's own logits serve that layout)."""
    folder = tmp_path_factory.mktemp("edit-cli") / "model"
    save_generator(generator, folder)
    torch.manual_seed(0)
    eyes19 = get_layout("eyes19")
    adapter = GeometryAdapter.for_generator(generator.config, eyes19.num_classes)
    save_adapter(folder / "adapters" / "eyes19", adapter, eyes19)
    return folder


@pytest.fixture(scope="module")
def target_png(tmp_path_factory, generator):
    """The base15 mask of face 1 at the front: a reachable target for face 0."""
    with torch.no_grad():
        output = generator.render(
            ws_from_seed(generator, 1)[None], named_camera("front")[None], super_resolve=False
        )
    path = tmp_path_factory.mktemp("targets") / "target.png"
    path.write_bytes(color_png_from_labels(output.seg_logits[0].argmax(0).numpy(), BASE15))
    return path


def _edit(model, target, out, *extra):
    args = ["edit", "--layout", "base15", "--target", str(target), "--out", str(out)]
    return main([*args, "--model", str(model), "--steps", "2", "--orbit-frames", "3", *extra])


def test_edit_writes_views_video_latent_and_record(model, target_png, tmp_path, capsys):
    out = tmp_path / "out"
    assert _edit(model, target_png, out, "--face", "0") == 0
    assert "wrote" in capsys.readouterr().out
    for view in ("front", "left", "right"):
        with Image.open(out / "views" / f"{view}.png") as image:
            assert image.size == (64, 64)
        assert labels_from_png((out / "views" / f"{view}-mask.png").read_bytes(), BASE15).shape == (
            32,
            32,
        )
        assert (out / "views" / f"{view}-overlay.png").is_file()
    video = out / "orbit.mp4" if (out / "orbit.mp4").exists() else out / "orbit.gif"
    assert video.stat().st_size > 0
    tensors = load_file(out / "ws.safetensors")
    assert set(tensors) == {"ws", "source_ws", "plane_mean", "plane_std"}
    assert tensors["ws"].shape == (8, 32) and not torch.equal(tensors["ws"], tensors["source_ws"])
    record = json.loads((out / "edit.json").read_text())
    assert record["steps"] == 2 and len(record["losses"]) == 2
    assert record["config"]["overlap_weight"] == 0.5 and record["layout"] == "base15"


def test_editing_a_result_again_keeps_the_previous_latent_for_undo(model, target_png, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert _edit(model, target_png, first, "--face", "0", "--orbit-frames", "0") == 0
    previous = load_file(first / "ws.safetensors")
    chained = ["--face", str(first / "ws.safetensors"), "--orbit-frames", "0", "--seed", "1"]
    assert _edit(model, target_png, second, *chained) == 0
    edited = load_file(second / "ws.safetensors")
    assert torch.equal(edited["source_ws"], previous["ws"])  # undo: bitwise the previous ws
    assert torch.equal(edited["plane_mean"], previous["plane_mean"])  # appearance of face 0
    assert torch.equal(edited["plane_std"], previous["plane_std"])
    assert not torch.equal(edited["ws"], previous["ws"])


def _error(capsys, code):
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error
    return error


def test_a_mask_of_the_wrong_size_names_the_expected_size(model, tmp_path, capsys):
    target = tmp_path / "small.png"
    target.write_bytes(color_png_from_labels(np.zeros((16, 16), dtype=np.int64), BASE15))
    error = _error(capsys, _edit(model, target, tmp_path / "out", "--face", "0"))
    assert "16×16" in error and "32×32" in error


def test_colours_outside_the_layout_are_summed_up(model, tmp_path, capsys):
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[:4] = (1, 2, 3)
    image[4:5] = (250, 0, 0)
    target = tmp_path / "odd.png"
    Image.fromarray(image).save(target)
    error = _error(capsys, _edit(model, target, tmp_path / "out", "--face", "0"))
    assert "160 pixels have colours that are not in layout 'base15' (2 different colours)" in error
    assert "nearest classes: background (128 pixels), cloth (32 pixels)" in error


def test_a_layout_without_adapter_says_where_it_was_looked_for(model, target_png, tmp_path, capsys):
    args = ["edit", "--face", "0", "--layout", "nose19", "--target", str(target_png)]
    code = main([*args, "--out", str(tmp_path / "out"), "--model", str(model)])
    error = _error(capsys, code)
    assert "no adapter for layout 'nose19'" in error and str(model / "adapters" / "nose19") in error


def test_unknown_faces_and_views_are_refused(model, target_png, tmp_path, capsys):
    _error(capsys, _edit(model, target_png, tmp_path / "out", "--face", "missing.safetensors"))
    error = _error(capsys, _edit(model, target_png, tmp_path / "o", "--face", "0", "--view", "top"))
    assert "known views" in error
    assert not (tmp_path / "out").exists()


def test_bench_edits_end_to_end(model, tmp_path, capsys):
    json_path, markdown, images = tmp_path / "edits.json", tmp_path / "bench.md", tmp_path / "img"
    code = main(
        [
            "bench", "edits", "--model", str(model), "--faces", "0:1", "--json", str(json_path),
            "--cases", "eyes.scale:3", "--steps", "2", "--paper-faces", "1",
            "--full-frame-faces", "1", "--full-frame-cases", "eyes.scale:3", "--teacher-faces", "1",
            "--images", str(images), "--markdown", str(markdown),
        ]
    )  # fmt: skip
    assert code == 0
    document = json.loads(json_path.read_text())
    runs = [(run["protocol"], run["variant"]) for run in document["runs"]]
    assert runs == [
        ("user", "default"),
        ("user", "paper"),
        ("user", "default, full frame"),
        ("teacher", "default"),
        ("teacher", "paper"),
    ]
    run = document["runs"][0]
    assert not run["skipped"] and run["painted_pixels"] > 0
    assert run["touched_classes"] == ["eye", "iris", "pupil", "eyelid"]
    assert set(run["view_psnr"]) == {"front", "left", "right"} and run["steps"] == 2
    assert 0 <= run["painted_recall"] <= 1 and 0 <= run["collateral"] <= 1
    assert document["fast_vs_full"]["edits"] == 1
    assert document["configs"]["paper"]["objective"] == "paper"
    with Image.open(images / "eyes-scale-3.png") as sheet:
        assert sheet.size == (8 * 34 - 2, 32)  # 8 tiles of 32 px with 2 px gaps, one face
    text = markdown.read_text()
    assert "## Mask-driven edits" in text and "| eyes.scale:3 | eyes19 | default |" in text
    assert "| **large edits** |" in text or "| **small edits** |" in text
    assert "target IoU %" in text  # the teacher protocol's table
    assert "(img/eyes-scale-3.png)" in text


def test_bench_edits_needs_an_adapter_per_layout(model, tmp_path, capsys):
    args = ["bench", "edits", "--model", str(model), "--faces", "0:1", "--cases", "nose.width:1"]
    error = _error(capsys, main([*args, "--json", str(tmp_path / "e.json")]))
    assert "no adapter for layout 'nose19'" in error


def test_lpips_weights_that_are_not_on_disk_are_a_clear_error(model, target_png, tmp_path, capsys):
    absent = tmp_path / "lpips-vgg.pth"
    code = _edit(model, target_png, tmp_path / "out", "--face", "0", "--lpips-weights", str(absent))
    error = _error(capsys, code)
    assert "LPIPS weights not found" in error and str(absent) in error
    assert not (tmp_path / "out").exists()
