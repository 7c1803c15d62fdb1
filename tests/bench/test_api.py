"""`ffedit bench api`: the loopback load run end to end on the tiny model (2 clients, 2 s),
and the pure parts of `ffedit.bench.api` (percentiles, the requests of a drag)."""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs, urlsplit

import pytest

from ffedit.bench import api as loadtest
from ffedit.cli import main
from ffedit.io.markdown import read_markdown_section


def test_percentiles_interpolate_between_ranks():
    values = [4.0, 1.0, 3.0, 2.0, 5.0]
    assert loadtest.percentile(values, 50) == 3.0
    assert loadtest.percentile(values, 0) == 1.0 and loadtest.percentile(values, 100) == 5.0
    assert loadtest.percentile(values, 95) == pytest.approx(4.8)
    assert math.isnan(loadtest.percentile([], 50))


def test_a_drag_is_previews_at_moving_angles_then_the_view_at_the_last():
    requests = loadtest.drag_requests("abc", drag=0)
    kinds = [kind for kind, _ in requests]
    assert kinds == ["preview"] * loadtest.PREVIEWS_PER_DRAG + ["view"]
    queries = [parse_qs(urlsplit(path).query) for _, path in requests]
    assert all(q["size"] == ["64"] and q["kind"] == ["rgb"] for q in queries[:-1])
    assert len({q["yaw"][0] for q in queries[:-1]}) == loadtest.PREVIEWS_PER_DRAG
    assert "size" not in queries[-1] and queries[-1]["yaw"] == queries[-2]["yaw"]
    assert urlsplit(requests[-1][1]).path == "/api/v1/faces/abc/view"
    assert requests != loadtest.drag_requests("abc", drag=1)


def test_stats_count_failures_and_kinds():
    timings = [
        loadtest.Timing("preview", 0.1, True),
        loadtest.Timing("preview", 0.3, False),
        loadtest.Timing("view", 0.5, True),
    ]
    report = loadtest.load_report(2, 1.5, timings, [loadtest.Timing("preview", 0.2, True)])
    assert report.overall.count == 3 and report.overall.errors == 1
    assert report.by_kind["preview"].p50 == pytest.approx(0.2)
    assert report.by_kind["view"].count == 1 and report.requests_per_second == 2.0
    assert report.single_preview.p50 == 0.2


@pytest.mark.slow
def test_bench_api_serves_loads_and_writes_its_section(tiny_model, tmp_path):
    markdown, figures = tmp_path / "benchmarks.md", tmp_path / "api.json"
    markdown.write_text("# Benchmarks\n\n## Other\n\nkept\n")
    arguments = ["--model", str(tiny_model), "--clients", "2", "--seconds", "2"]
    arguments += ["--previews", "3", "--threads", "1", "--json", str(figures)]
    assert main(["bench", "api", *arguments, "--markdown", str(markdown)]) == 0
    report = json.loads(figures.read_text())
    assert report["clients"] == 2 and report["overall"]["errors"] == 0
    assert report["overall"]["count"] >= 2
    assert report["overall"]["count"] == sum(s["count"] for s in report["by_kind"].values())
    assert report["by_kind"]["preview"]["count"] >= 1
    assert report["single_preview"]["count"] == 3 and report["single_preview"]["errors"] == 0
    assert 0 < report["single_preview"]["p50"] <= report["single_preview"]["p99"]
    section = read_markdown_section(markdown, loadtest.SECTION_TITLE)
    assert "| single-client 64² preview | 3 | 0 |" in section
    assert read_markdown_section(markdown, "Other").strip() == "kept"


def test_bench_api_refuses_a_missing_model(tmp_path, capsys):
    assert main(["bench", "api", "--model", str(tmp_path / "none")]) == 1
    assert "does not exist" in capsys.readouterr().err
