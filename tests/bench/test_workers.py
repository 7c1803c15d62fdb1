"""`ffedit bench workers`: Redis, the web process and two CPU workers end to end on the tiny
model (2 clients, a few seconds a round, then the kill -9), and its targets."""

from __future__ import annotations

import json
import shutil

import pytest

from ffedit.bench import workers
from ffedit.bench.api import LatencyStats
from ffedit.cli import main
from ffedit.io.markdown import read_markdown_section


def _kill(**changes) -> workers.KillOutcome:
    fields = {
        "status": "failed",
        "error": f"the {workers.LOST_WORKER_WORDS} (killed or lost)",
        "detected_after_s": 4.0,
        "data_kept": True,
        "survivor_rendered": True,
        "survivor_edit": "succeeded",
    }
    return workers.KillOutcome(**(fields | changes))


def _report(not_ok: int = 0, job_status: str = "succeeded", **kill) -> workers.WorkersReport:
    stats = LatencyStats(10, 0, 0.5, 0.9, 1.0)
    jobs = [workers.JobOutcome("edit", job_status, 3.0)]
    rounds = [workers.Round(1, stats, not_ok, jobs), workers.Round(2, stats, 0, jobs)]
    return workers.WorkersReport(2, 1.0, 2, 2, rounds, _kill(**kill))


def test_targets_need_no_errors_every_job_done_and_the_kill_seen():
    assert _report().meets_targets
    assert not _report(not_ok=1).meets_targets
    assert not _report(job_status="failed").meets_targets
    assert not _report(status="succeeded").meets_targets  # the killed job went on?
    assert not _report(error="something else").meets_targets
    assert not _report(data_kept=False).meets_targets
    assert not _report(survivor_edit="failed").meets_targets


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")
def test_bench_workers_runs_both_rounds_and_the_kill_and_writes_its_section(tiny_model, tmp_path):
    markdown, figures = tmp_path / "benchmarks.md", tmp_path / "workers.json"
    markdown.write_text("# Benchmarks\n\n## Other\n\nkept\n")
    arguments = ["--model", str(tiny_model), "--clients", "2", "--seconds", "3"]
    arguments += ["--samples", "1", "--training-steps", "2", "--edit-steps", "2"]
    arguments += ["--json", str(figures), "--markdown", str(markdown)]
    status = main(["bench", "workers", *arguments])
    report = json.loads(figures.read_text())
    assert [r["workers"] for r in report["rounds"]] == [1, 2]
    for round_ in report["rounds"]:
        assert round_["not_ok"] == 0 and round_["renders"]["count"] > 0
        kinds = sorted(job["kind"] for job in round_["jobs"])
        assert kinds == ["edit"] * workers.EDITS + ["train-layout"] * workers.TRAININGS
        assert all(job["status"] == "succeeded" for job in round_["jobs"])
    kill = report["kill"]
    assert kill["status"] == "failed" and workers.LOST_WORKER_WORDS in kill["error"]
    assert kill["data_kept"] and kill["survivor_rendered"] and kill["survivor_edit"] == "succeeded"
    assert status == 0
    section = read_markdown_section(markdown, workers.SECTION_TITLE)
    assert "| 1 |" in section and "| 2 |" in section and "kill -9" in section
    assert read_markdown_section(markdown, "Other").strip() == "kept"


def test_bench_workers_refuses_bad_arguments(tiny_model, capsys):
    assert main(["bench", "workers", "--model", str(tiny_model), "--clients", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err
