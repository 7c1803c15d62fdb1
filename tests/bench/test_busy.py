"""`ffedit bench busy`: the served API while trainings and an export run, end to end on the
tiny model (2 clients, a few seconds), and its pure parts (the painted sample, targets)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from ffedit.bench import busy
from ffedit.bench.api import LatencyStats
from ffedit.cli import main
from ffedit.io.markdown import read_markdown_section


def _indexed_png(side: int, value: int) -> bytes:
    image = Image.new("P", (side, side), value)
    image.putpalette([0, 0, 0] * 256)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_painted_sample_is_the_mask_with_one_square_of_the_new_class():
    painted = Image.open(io.BytesIO(busy.painted_sample(_indexed_png(64, 1), 7, offset=2)))
    assert painted.mode == "P"
    labels = np.asarray(painted)
    assert (labels == 7).sum() == busy.PATCH_SIDE**2
    assert set(np.unique(labels)) == {1, 7}
    moved = np.asarray(Image.open(io.BytesIO(busy.painted_sample(_indexed_png(64, 1), 7, 3))))
    assert not np.array_equal(labels, moved)


def test_a_colour_mask_is_refused_as_a_sample_base():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    with pytest.raises(busy.LoadTestError, match="not an indexed one"):
        busy.painted_sample(buffer.getvalue(), 1, 0)


def _report(health_p99: float, server_errors: int, health_count: int = 10) -> busy.BusyReport:
    health = LatencyStats(health_count, 0, 0.01, 0.02, health_p99)
    return busy.BusyReport(2, 1.0, 2, 1, 1, {"health": health}, server_errors, [])


def test_targets_need_fast_health_checks_and_no_server_errors():
    assert _report(0.1, 0).meets_targets
    assert not _report(0.6, 0).meets_targets
    assert not _report(0.1, 1).meets_targets
    assert not _report(0.1, 0, health_count=0).meets_targets


@pytest.mark.slow
def test_bench_busy_serves_runs_jobs_and_writes_its_section(tiny_model, tmp_path):
    markdown, figures = tmp_path / "benchmarks.md", tmp_path / "busy.json"
    markdown.write_text("# Benchmarks\n\n## Other\n\nkept\n")
    arguments = ["--model", str(tiny_model), "--clients", "2", "--seconds", "4"]
    arguments += ["--frames", "2", "--samples", "2", "--training-steps", "2"]
    arguments += ["--json", str(figures), "--markdown", str(markdown)]
    status = main(["bench", "busy", *arguments])
    report = json.loads(figures.read_text())
    assert report["server_errors"] == 0 and report["by_kind"]["health"]["count"] >= 2
    assert status == (0 if report["by_kind"]["health"]["p99"] < 0.5 else 1)
    assert [job["kind"] for job in report["jobs"]] == ["export", "train-layout", "train-layout"]
    assert all(job["status"] != "failed" for job in report["jobs"])
    section = read_markdown_section(markdown, busy.SECTION_TITLE)
    assert "| health |" in section and "| export |" in section
    assert read_markdown_section(markdown, "Other").strip() == "kept"


def test_bench_busy_refuses_bad_arguments(tiny_model, capsys):
    assert main(["bench", "busy", "--model", str(tiny_model), "--frames", "301"]) == 2
    assert "--frames 2…300" in capsys.readouterr().err
