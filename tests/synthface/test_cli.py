"""The synthface commands: dataset export (decodable masks, manifest), contact sheet, bench."""

import json

import numpy as np

from ffedit.camera import named_camera
from ffedit.cli import main
from ffedit.io.images import load_png
from ffedit.layouts import get_layout, labels_from_colors, labels_from_fine, labels_from_png
from ffedit.synthface import faces_from_seeds, latent_from_seed, render_face


def test_export_writes_a_dataset_whose_masks_equal_the_renders(tmp_path):
    out = tmp_path / "data"
    args = ["synthface", "export", "--faces", "5:2", "--views", "front,left"]
    assert main([*args, "--layouts", "base15,eyes19", "--resolution", "24", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "ffedit-synthface-dataset"
    assert [face["seed"] for face in manifest["faces"]] == [5, 6]
    assert len(manifest["views"]["left"]["camera"]) == 25
    entry = manifest["faces"][1]["views"]["left"]
    np.testing.assert_array_equal(
        np.load(out / manifest["faces"][1]["latent"]), latent_from_seed(6)
    )
    render = render_face(faces_from_seeds([6]), named_camera("left"), 24)
    eyes19 = get_layout("eyes19")
    mask = labels_from_png((out / entry["masks"]["eyes19"]).read_bytes(), eyes19)
    np.testing.assert_array_equal(mask, labels_from_fine(render.fine_labels[0], eyes19).numpy())
    assert load_png(out / entry["fine"]).max() == render.fine_labels.max()
    assert load_png(out / entry["rgb"]).shape == (24, 24, 3)


def test_export_refuses_a_non_empty_folder_and_unknown_layouts(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["synthface", "export", "--faces", "0:1", str(tmp_path)]) == 1
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["synthface", "export", "--layouts", "base99", str(tmp_path / "new")]) == 1
    assert "unknown layout" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_show_writes_a_grid_of_rgb_and_mask_tiles(tmp_path):
    path = tmp_path / "sheet.png"
    assert (
        main(
            [
                "synthface",
                "show",
                "--faces",
                "0:2",
                "--views",
                "front",
                "--resolution",
                "20",
                "--out",
                str(path),
            ]
        )
        == 0
    )
    sheet = load_png(path)
    assert sheet.shape == (2 * 20 + 2, 2 * 20 + 2, 3)
    labels = render_face(faces_from_seeds([1]), named_camera("front"), 20).fine_labels[0]
    base17 = get_layout("base17")
    mask_tile = sheet[22:, 22:]  # row 2 (face 1), column 2 (its mask)
    np.testing.assert_array_equal(
        labels_from_colors(mask_tile, base17), labels_from_fine(labels, base17).numpy()
    )


def test_bench_writes_its_markdown_section(tmp_path, capsys):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Render latency\n\nkept\n")
    args = ["bench", "synthface", "--faces", "0:2", "--resolution", "16", "--timing-faces", "1"]
    assert main([*args, "--layouts", "eyes19", "--markdown", str(doc)]) == 0
    text = doc.read_text()
    assert "## Render latency\n\nkept\n" in text and "## synthface" in text
    assert "| pupil |" in text and "Render time" in text
