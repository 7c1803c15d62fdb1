"""`ffedit bench page`: the real page driven in headless Chromium, end to end on the shipped
model with tiny step counts (slow, skipped without Chromium or Playwright), and its pure
parts (the drag's pointer path, the targets, the server's overrides)."""

from __future__ import annotations

import json
import math

import pytest

from ffedit.bench import page
from ffedit.cli import main
from ffedit.io.markdown import read_markdown_section


def test_the_drag_sweeps_out_and_partly_back_inside_the_track():
    offsets = page.drag_offsets(200.0)
    assert len(offsets) == round(page.DRAG_S / page.DRAG_MOVE_S)
    assert max(offsets) == pytest.approx(92.0, abs=0.1)  # inside the track's half width
    assert 0 < offsets[-1] < max(offsets)  # ends away from the start, short of the peak
    assert offsets[-1] == pytest.approx(92.0 * math.sin(page.DRAG_SWEEP))


def _report(**changes) -> page.PageReport:
    job = page.JobTimes(steps=10, queued_s=0.0, ran_s=1.0)
    fields = dict(
        load_average=0.1,
        first_face_s=[1.0, 1.5, 3.0],
        view_change_s={"left": 0.5, "right": 0.9},
        drag_previews=5,
        drag_final_s=1.0,
        edit_s=20.0,
        edit_job=job,
        training_s=50.0,
        training_job=job,
        training_samples=10,
        zip_s=20.0,
        zip_bytes=10**6,
        export_job=job,
    )
    return page.PageReport(**(fields | changes))


def test_targets_take_the_median_first_face_and_the_slowest_view():
    assert _report().meets_targets  # median first face 1.5 s
    assert not _report(first_face_s=[2.5, 2.1, 1.0]).meets_targets
    assert not _report(view_change_s={"left": 0.5, "right": 1.1}).meets_targets
    assert not _report(drag_previews=3).meets_targets
    assert not _report(zip_s=31.0).meets_targets
    assert [met for *_, met in _report(edit_s=26.0).rows()].count(False) == 1


def test_only_the_options_given_override_the_servers_defaults():
    assert page.server_settings(None, None, None) == {}
    assert page.server_settings(4, None, 2) == {
        "FFEDIT_EDIT_STEPS": "4",
        "FFEDIT_ORBIT_FRAMES": "2",
    }


def test_a_section_says_when_the_defaults_were_overridden():
    plain = page.page_section(_report(), "m", "machine", "today", "cmd")
    assert "with the defaults a user gets" in plain and "| first face | 1.50 s |" in plain
    changed = page.page_section(_report(), "m", "x", "d", "c", {"FFEDIT_EDIT_STEPS": "4"})
    assert "**overridden: FFEDIT_EDIT_STEPS=4**" in changed


@pytest.mark.slow
@pytest.mark.e2e
def test_bench_page_drives_the_page_and_writes_its_section(shipped_model, tmp_path):
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if page.chromium_path() is None:
        pytest.skip("Chromium is missing: apt-get install chromium")
    markdown, figures = tmp_path / "benchmarks.md", tmp_path / "page.json"
    markdown.write_text("# Benchmarks\n\n## Other\n\nkept\n")
    arguments = ["--model", str(shipped_model), "--loads", "1", "--edit-steps", "2"]
    arguments += ["--training-steps", "2", "--orbit-frames", "2"]
    arguments += ["--json", str(figures), "--markdown", str(markdown)]
    status = main(["bench", "page", *arguments])
    result = json.loads(figures.read_text())
    assert status in (0, 1)
    assert len(result["first_face_s"]) == 1 and 0 < result["first_face_s"][0] < 60
    assert set(result["view_change_s"]) == {"left", "right", "front"}
    assert result["drag_previews"] >= 1 and result["drag_final_s"] > 0
    assert result["edit_job"]["steps"] == 2 and result["training_job"]["steps"] == 2
    assert result["edit_s"] >= result["edit_job"]["ran_s"]
    assert result["zip_bytes"] > 10_000 and result["export_job"]["steps"] == 2
    section = read_markdown_section(markdown, page.SECTION_TITLE)
    assert "| release → final view |" in section and "overridden" in section
    assert read_markdown_section(markdown, "Other").strip() == "kept"


def test_bench_page_refuses_bad_arguments(shipped_model, capsys):
    assert main(["bench", "page", "--model", str(shipped_model), "--loads", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err
