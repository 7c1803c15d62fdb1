"""`ffedit render` and `ffedit bench render` end to end on the tiny preset."""

import numpy as np
import torch

from ffedit.cli import main
from ffedit.generator import PRESETS, TriplaneGenerator
from ffedit.io.checkpoint import save_generator
from ffedit.io.images import load_png
from ffedit.io.markdown import read_markdown_section


def test_render_writes_the_super_resolved_image_and_is_seeded(tmp_path, capsys):
    assert main(["render", "--out", str(tmp_path / "a.png")]) == 0
    assert main(["render", "--out", str(tmp_path / "b.png"), "--seed", "0"]) == 0
    assert main(["render", "--out", str(tmp_path / "c.png"), "--seed", "1"]) == 0
    first = load_png(tmp_path / "a.png")
    size = PRESETS["tiny"].image_resolution
    assert first.shape == (size, size, 3) and first.dtype == np.uint8
    assert np.array_equal(first, load_png(tmp_path / "b.png"))
    assert not np.array_equal(first, load_png(tmp_path / "c.png"))
    assert "wrote" in capsys.readouterr().out


def test_render_from_a_checkpoint_equals_the_preset_it_was_saved_from(tmp_path):
    torch.manual_seed(0)  # the CLI's weight seed for presets
    save_generator(TriplaneGenerator(PRESETS["tiny"]), tmp_path / "model")
    checkpoint = ["--checkpoint", str(tmp_path / "model")]
    assert main(["render", *checkpoint, "--out", str(tmp_path / "c.png"), "--view", "left"]) == 0
    assert (
        main(["render", "--preset", "tiny", "--out", str(tmp_path / "p.png"), "--view", "left"])
        == 0
    )
    assert np.array_equal(load_png(tmp_path / "c.png"), load_png(tmp_path / "p.png"))


def test_render_reports_bad_input_without_a_traceback(tmp_path, capsys):
    assert main(["render", "--out", str(tmp_path / "x.png"), "--view", "top"]) == 1
    assert main(["render", "--out", str(tmp_path / "x.png"), "--preset", "huge"]) == 1
    assert main(["render", "--out", str(tmp_path / "x.png"), "--checkpoint", str(tmp_path)]) == 1
    errors = capsys.readouterr().err
    assert "unknown view 'top'" in errors and "unknown preset 'huge'" in errors
    assert not (tmp_path / "x.png").exists()


def test_bench_render_prints_and_keeps_one_row_per_configuration(tmp_path, capsys):
    markdown = tmp_path / "benchmarks.md"
    markdown.write_text("# Benchmarks\n\n## Other\n\nkept\n")
    base = ["bench", "render", "--preset", "tiny", "--repeats", "1", "--device", "cpu"]
    assert main([*base, "--markdown", str(markdown)]) == 0
    assert main([*base, "--markdown", str(markdown)]) == 0
    assert main([*base, "--resolution", "16", "--samples", "4,4", "--markdown", str(markdown)]) == 0
    out = capsys.readouterr().out
    assert "volume:" in out and "+ SR:" in out
    body = read_markdown_section(markdown, "Render latency")
    rows = [line for line in body.splitlines() if line.startswith("| tiny")]
    assert len(rows) == 2
    assert "| 32² | 12+12 |" in rows[0] and "| 16² | 4+4 |" in rows[1]
    assert "`ffedit bench render --preset tiny --resolution 16 --samples 4,4" in rows[1]
    assert read_markdown_section(markdown, "Other").strip() == "kept"


def test_bench_render_rejects_bad_samples(capsys):
    assert main(["bench", "render", "--preset", "tiny", "--samples", "48"]) == 1
    assert "--samples takes two integers" in capsys.readouterr().err
