"""`ffedit bench busy`: the served API while heavy jobs run (issue 27's load test).

The real `ffedit serve` in a subprocess on 127.0.0.1 (`bench.api.served_api`), a temporary
data folder. Setup: faces from seeds, two custom layouts with annotated samples (each the
face's predicted mask with a patch of the layout's new class painted in); then a
`--frames`-frame export and the two layout trainings are submitted as jobs, in that order
(one job runs at a time; the others wait in the queue). While they run, `--clients` users
each check `/health`, drag the view (the page's 64² previews, then the view: image and
mask from one render) and think for `THINK_S`, and a probe checks `/health` every `PROBE_S`,
until `--seconds` have passed; the jobs left unfinished are then cancelled. Reported:
latency percentiles per request kind, the 5xx answers, and how far each job got. Targets
(the issue's): `/health` p99 < 0.5 s and zero 5xx.

The device lock is first come, first served and a job hands it over after each step, so a
job advances one step per round of the renders queued before it: under twenty dragging
clients the export moves slowly and the trainings may not start. The trainings run
`--training-steps` steps (the server's `FFEDIT_TRAINING_STEPS`), not the preset's.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import io
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image

from ffedit.bench import report
from ffedit.bench.api import (
    API_PREFIX,
    LOOPBACK,
    REQUEST_TIMEOUT_S,
    LatencyStats,
    LoadTestError,
    ServedApi,
    Timing,
    drag_requests,
    latency_stats,
    served_api,
    timed_get,
)
from ffedit.config import DEFAULT_MODEL_PATH

SECTION_TITLE = "API under heavy jobs"
THINK_S = 1.0
"""A client's pause after each drag (a user looks at the view before the next one)."""
HEALTH_P99_TARGET_S = 0.5
LAYOUT_COUNT = 2
PATCH_SIDE = 8
"""Side (mask pixels) of the new class's square painted on each sample."""
KINDS = ("health", "preview", "view")
PROBE_S = 0.5
"""Interval of the health probe beside the clients."""
JOB_POLL_S = 1.0


@dataclass(frozen=True)
class JobProgress:
    """Where a job stood when the clients stopped."""

    kind: str
    status: str
    step: int
    total: int
    ended_after_s: float | None
    """Seconds from the start of the clients to the job's end; None: still running/queued."""


@dataclass(frozen=True)
class BusyReport:
    clients: int
    seconds: float
    frames: int
    samples_per_layout: int
    training_steps: int
    by_kind: dict[str, LatencyStats]
    server_errors: int
    """Answers with a 5xx status (all kinds)."""
    jobs: list[JobProgress]

    @property
    def meets_targets(self) -> bool:
        health = self.by_kind["health"]
        return health.p99 < HEALTH_P99_TARGET_S and self.server_errors == 0 and health.count > 0


def _checked(answer: httpx.Response, what: str, status: int) -> dict:
    if answer.status_code != status:
        raise LoadTestError(f"{what} answered {answer.status_code}: {answer.text[:300]}")
    return answer.json() if answer.content else {}


def painted_sample(mask_png: bytes, class_index: int, offset: int) -> bytes:
    """The predicted (indexed) mask with a `PATCH_SIDE` square of `class_index` painted on
    the left cheek, shifted by `offset` pixels per sample."""
    mask = Image.open(io.BytesIO(mask_png))
    if mask.mode != "P":
        raise LoadTestError(f"the predicted mask is a {mask.mode} PNG, not an indexed one")
    side = mask.width
    left, top = side * 3 // 10 + offset, side * 11 // 20 + offset
    mask.paste(class_index, (left, top, left + PATCH_SIDE, top + PATCH_SIDE))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


def submit_jobs(api: httpx.Client, faces: list[str], frames: int) -> list[str]:
    """The export of the first face, then two layouts (base15 + one class) with a sample per
    face and their trainings: the ids of the three jobs, in the order they run."""
    export = api.post(f"/faces/{faces[0]}/exports", params={"frames": frames})
    jobs = [_checked(export, "starting the export", 202)["id"]]
    for number in range(LAYOUT_COUNT):
        body = {
            "name": f"busy-{number}",
            "base": "base15",
            "classes": [{"name": "mark", "color": [250, 10 + number, 200]}],
        }
        layout = _checked(api.post("/layouts", json=body), "creating a layout", 201)
        for offset, face in enumerate(faces):
            params = {"layout": layout["id"], "view": "front"}
            predicted = api.get(f"/faces/{face}/mask", params=params)
            png = painted_sample(predicted.content, len(layout["classes"]) - 1, offset)
            answer = api.post(
                f"/layouts/{layout['id']}/samples",
                data={"face_id": face, "view": "front"},
                files={"mask": ("mask.png", png, "image/png")},
            )
            _checked(answer, "adding a sample", 201)
        train = _checked(api.post(f"/layouts/{layout['id']}/train"), "starting training", 202)
        jobs.append(train["id"])
    return jobs


def _health_probe(port: int, deadline: float, out: list[Timing]) -> None:
    """`/health` every `PROBE_S` seconds, as a container healthcheck or a monitor asks (no
    token, as they do)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=REQUEST_TIMEOUT_S)
    try:
        while time.monotonic() < deadline:
            out.append(timed_get(connection, "health", f"{API_PREFIX}/health", png=False))
            time.sleep(PROBE_S)
    finally:
        connection.close()


def _client(served: ServedApi, face: str, deadline: float, number: int, out: list[Timing]) -> None:
    connection = served.connection()
    drag = number
    try:
        while time.monotonic() < deadline:
            out.append(timed_get(connection, "health", f"{API_PREFIX}/health", png=False))
            for kind, path in drag_requests(face, drag):
                if time.monotonic() >= deadline:
                    break
                out.append(timed_get(connection, kind, path, png=kind == "preview"))
            drag += 1
            time.sleep(THINK_S)
    finally:
        connection.close()


def _watch_jobs(api: httpx.Client, jobs: list[str], start: float, deadline: float) -> dict:
    """Each job's last record and when it ended (seconds after `start`), polled until the
    deadline or until all have ended."""
    records: dict[str, dict] = {}
    ended: dict[str, float] = {}
    while True:
        for job in jobs:
            if job not in ended:
                records[job] = api.get(f"/jobs/{job}").json()
                if records[job]["status"] in ("succeeded", "failed", "cancelled"):
                    ended[job] = time.monotonic() - start
        if len(ended) == len(jobs) or time.monotonic() >= deadline:
            return {job: (records[job], ended.get(job)) for job in jobs}
        time.sleep(JOB_POLL_S)


def run_busy(
    model: Path,
    data_dir: Path,
    clients: int,
    seconds: float,
    frames: int,
    samples_per_layout: int,
    training_steps: int,
    device: str = "cpu",
) -> BusyReport:
    """Serve, set up and submit the jobs, run the clients for `seconds` while the jobs run,
    cancel what is left; the server is stopped."""
    settings = {"FFEDIT_TRAINING_STEPS": str(training_steps)}
    with served_api(model, data_dir, device, settings=settings) as served:
        base = f"{served.url}{API_PREFIX}"
        with httpx.Client(base_url=base, headers=served.headers, timeout=REQUEST_TIMEOUT_S) as api:
            faces = [
                _checked(api.post("/faces", json={"seed": seed}), "creating a face", 201)["id"]
                for seed in range(samples_per_layout)
            ]
            jobs = submit_jobs(api, faces, frames)
            start = time.monotonic()
            deadline = start + seconds
            per_client: list[list[Timing]] = [[] for _ in range(clients)]
            probed: list[Timing] = []
            threads = [
                threading.Thread(target=_client, args=(served, faces[0], deadline, i, out))
                for i, out in enumerate(per_client)
            ]
            probe = threading.Thread(target=_health_probe, args=(served.port, deadline, probed))
            threads.append(probe)
            for thread in threads:
                thread.start()
            watched = _watch_jobs(api, jobs, start, deadline)
            for thread in threads:
                thread.join()
            for job, (record, _) in watched.items():
                if record["status"] in ("queued", "running"):
                    api.post(f"/jobs/{job}/cancel")
    timings = probed + [timing for out in per_client for timing in out]
    progress = [
        JobProgress(
            kind=record["kind"],
            status=record["status"],
            step=int((record.get("progress") or {}).get("step") or 0),
            total=int((record.get("progress") or {}).get("total") or 0),
            ended_after_s=ended,
        )
        for record, ended in watched.values()
    ]
    return BusyReport(
        clients=clients,
        seconds=seconds,
        frames=frames,
        samples_per_layout=samples_per_layout,
        training_steps=training_steps,
        by_kind={kind: latency_stats([t for t in timings if t.kind == kind]) for kind in KINDS},
        server_errors=sum(t.status >= 500 for t in timings),
        jobs=progress,
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def busy_section(result: BusyReport, model: str, machine: str, date: str, command: str) -> str:
    """Markdown body of section `API under heavy jobs`."""
    health = result.by_kind["health"]
    verdict = "met" if result.meets_targets else "**not met**"
    rows = [
        f"| {kind} | {s.count} | {s.errors} | {_ms(s.p50)} | {_ms(s.p95)} | {_ms(s.p99)} |"
        for kind, s in result.by_kind.items()
    ]
    jobs = [
        f"| {job.kind} | {job.status} | {job.step} of {job.total} | "
        f"{'—' if job.ended_after_s is None else f'{job.ended_after_s:.0f} s'} |"
        for job in result.jobs
    ]
    return "\n".join(
        [
            f"`ffedit serve` with `{model}` on loopback. A {result.frames}-frame export and "
            f"two layout trainings (base15 + one class, {result.samples_per_layout} samples "
            f"each, {result.training_steps} steps of the default preset) are submitted as "
            "jobs, in that order (one runs at a time, the others wait in the queue); "
            f"meanwhile {result.clients} clients each check `/health`, drag the view (4 raw "
            f"64² previews, then the page's view: image and mask) and think {THINK_S:g} s, and a "
            f"probe checks `/health` every {PROBE_S:g} s, for {result.seconds:g} s; "
            "unfinished jobs are then cancelled. A job hands the device over after each "
            "step to the renders waiting (first come, first served), so under this load it "
            "advances one step per round of them.",
            "",
            "| requests | count | errors | p50 ms | p95 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "| job | status at the end | progress | ended after |",
            "|---|---|---|---|",
            *jobs,
            "",
            f"Targets: `/health` p99 < {_ms(HEALTH_P99_TARGET_S)} ms and zero 5xx: {verdict} "
            f"(p99 {_ms(health.p99)} ms, {result.server_errors} answers 5xx). "
            f"Machine: {machine}. Date: {date}.",
            "",
            f"Command: `{command}`",
        ]
    )


DESCRIPTION = (
    "Start `ffedit serve` on 127.0.0.1 (free port, temporary data folder), submit a "
    "FRAMES-frame export and two layout trainings, and run CLIENTS clients (health check, a "
    "drag of the view, a pause) for SECONDS while the jobs run. Reports latency per request "
    "kind, 5xx answers and the jobs' progress; stops the server by itself."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL_PATH, help="checkpoint folder")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--seconds", type=float, default=120.0, help="load duration (120)")
    parser.add_argument("--frames", type=int, default=300, help="export orbit frames (300)")
    parser.add_argument("--samples", type=int, default=5, help="samples (and faces) per layout (5)")
    parser.add_argument(
        "--training-steps", type=int, default=40, help="steps of each training (40)"
    )
    parser.add_argument("--device", default="cpu", help="device of the server (default cpu)")
    parser.add_argument("--json", help="write the figures as JSON here")
    parser.add_argument("--markdown", help="Markdown file whose section to update")


def run(args: argparse.Namespace) -> int:
    if not Path(args.model).exists():
        print(f"error: the model {args.model} does not exist", file=sys.stderr)
        return 1
    if (
        args.clients < 1
        or args.seconds <= 0
        or not 2 <= args.frames <= 300
        or min(args.samples, args.training_steps) < 1
    ):
        print(
            "error: --clients, --seconds, --samples and --training-steps must be positive, "
            "--frames 2…300",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="ffedit-bench-busy-") as data_dir:
        try:
            result = run_busy(
                Path(args.model),
                Path(data_dir),
                args.clients,
                args.seconds,
                args.frames,
                args.samples,
                args.training_steps,
                args.device,
            )
        except (LoadTestError, httpx.HTTPError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    stamp = report.stamp("busy", args, torch_threads=False)
    body = busy_section(result, args.model, stamp.machine, stamp.date, stamp.command)
    print(body)
    if args.json:
        payload = dataclasses.asdict(result) | {"command": stamp.command}
        report.write_json(args.json, payload, indent=2, strict=False)
    report.publish(body, args.markdown, SECTION_TITLE, echo=False)
    return 0 if result.meets_targets else 1


__all__ = ["BusyReport", "JobProgress", "busy_section", "painted_sample", "run_busy"]
