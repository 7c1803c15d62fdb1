"""`ffedit bench workers`: the web process and its CPU workers under load (issue 28's scale test).

On loopback: a throw-away Redis (`bench.local_cluster.local_redis`), `ffedit serve` with
FFEDIT_BROKER_URL (no model in it) and `ffedit worker` processes on the CPU (torch on one
thread each), sharing a temporary data folder. Setup: faces from seeds and two custom layouts
with annotated samples (as `bench busy` paints them). Then two rounds, the first with one
worker, the second with two: in each, two layout trainings and four edits are submitted,
`--clients` clients drag the view (the page's 64² previews, then the view) for `--seconds`,
and the round ends when every job has ended. Reported per round: render latency
percentiles, answers that were not a 200, and each job's status and time. Last, the kill: a
long edit is submitted, and once it runs its worker is killed (SIGKILL); the job must read
failed with the lost-worker reason, every face, layout and sample must still be there, and
the other worker must render and run a new edit.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from ffedit.bench import report
from ffedit.bench.api import (
    API_PREFIX,
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
from ffedit.bench.busy import painted_sample
from ffedit.bench.local_cluster import local_redis, start_worker, wait_until_serving
from ffedit.config import DEFAULT_MODEL_PATH

SECTION_TITLE = "Workers under load"
TRAININGS = 2
EDITS = 4
JOB_POLL_S = 0.5
KILL_EDIT_STEPS = 500
"""Steps of the edit whose worker is killed: long enough to be running when the kill comes."""
TERMINAL = ("succeeded", "failed", "cancelled")
LOST_WORKER_WORDS = "worker running the job stopped"
"""What the error of a job whose worker died says (`ffedit.service.broker.WORKER_LOST_REASON`)."""


@dataclass(frozen=True)
class JobOutcome:
    kind: str
    status: str
    seconds: float | None
    """From the job's submission to its end (the server's clock); None: it did not end in
    time."""


@dataclass(frozen=True)
class Round:
    workers: int
    renders: LatencyStats
    """Every preview and view request of the clients."""
    not_ok: int
    """Answers that were not a 200 with the expected body, of any kind."""
    jobs: list[JobOutcome]

    @property
    def all_succeeded(self) -> bool:
        return all(job.status == "succeeded" for job in self.jobs)


@dataclass(frozen=True)
class KillOutcome:
    status: str
    error: str | None
    detected_after_s: float
    """From the SIGKILL to the job reading failed."""
    data_kept: bool
    """Every face, layout and sample of before the kill is still listed."""
    survivor_rendered: bool
    survivor_edit: str
    """Status of an edit submitted after the kill."""

    @property
    def as_expected(self) -> bool:
        return (
            self.status == "failed"
            and LOST_WORKER_WORDS in (self.error or "")
            and self.data_kept
            and self.survivor_rendered
            and self.survivor_edit == "succeeded"
        )


@dataclass(frozen=True)
class WorkersReport:
    clients: int
    seconds: float
    training_steps: int
    edit_steps: int
    rounds: list[Round]
    kill: KillOutcome

    @property
    def speedup_p50(self) -> float:
        """Render p50 with one worker over p50 with two."""
        return self.rounds[0].renders.p50 / self.rounds[1].renders.p50

    @property
    def meets_targets(self) -> bool:
        return all(r.not_ok == 0 and r.all_succeeded for r in self.rounds) and self.kill.as_expected


def _checked(answer: httpx.Response, what: str, status: int) -> dict:
    if answer.status_code != status:
        raise LoadTestError(f"{what} answered {answer.status_code}: {answer.text[:300]}")
    return answer.json() if answer.content else {}


def _checked_png(answer: httpx.Response, what: str) -> bytes:
    if answer.status_code != 200:
        raise LoadTestError(f"{what} answered {answer.status_code}: {answer.text[:300]}")
    return answer.content


def _setup(api: httpx.Client, samples: int) -> tuple[list[str], list[str]]:
    """`samples` faces and two layouts (base15 + one class) with a painted sample per face."""
    faces = [
        _checked(api.post("/faces", json={"seed": seed}), "creating a face", 201)["id"]
        for seed in range(samples)
    ]
    layouts = []
    for number in range(TRAININGS):
        body = {
            "name": f"workers-{number}",
            "base": "base15",
            "classes": [{"name": "mark", "color": [250, 10 + number, 200]}],
        }
        layout = _checked(api.post("/layouts", json=body), "creating a layout", 201)
        for offset, face in enumerate(faces):
            predicted = api.get(f"/faces/{face}/mask", params={"layout": layout["id"]})
            mask = _checked_png(predicted, "a predicted mask")
            png = painted_sample(mask, len(layout["classes"]) - 1, offset)
            answer = api.post(
                f"/layouts/{layout['id']}/samples",
                data={"face_id": face, "view": "front"},
                files={"mask": ("mask.png", png, "image/png")},
            )
            _checked(answer, "adding a sample", 201)
        layouts.append(layout["id"])
    return faces, layouts


def _edit(api: httpx.Client, face: str, offset: int, steps: int) -> str:
    """Submit an edit of `face`: its base15 mask with a square of class 3 painted on."""
    mask = _checked_png(api.get(f"/faces/{face}/mask"), "a predicted mask")
    answer = api.post(
        f"/faces/{face}/edits",
        data={"layout": "base15", "view": "front", "steps": str(steps)},
        files={"mask": ("target.png", painted_sample(mask, 3, offset), "image/png")},
    )
    return _checked(answer, "starting an edit", 202)["id"]


def _client(served: ServedApi, face: str, deadline: float, number: int, out: list[Timing]):
    connection = served.connection()
    drag = number
    try:
        while time.monotonic() < deadline:
            for kind, path in drag_requests(face, drag):
                if time.monotonic() >= deadline:
                    break
                out.append(timed_get(connection, kind, path, png=kind == "preview"))
            drag += 1
    finally:
        connection.close()


def _wait_jobs(api: httpx.Client, jobs: list[str], timeout_s: float) -> list[JobOutcome]:
    """Each job's outcome once all have ended (or `timeout_s` has passed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = [api.get(f"/jobs/{job}").json() for job in jobs]
        if all(r["status"] in TERMINAL for r in records) or time.monotonic() > deadline:
            break
        time.sleep(JOB_POLL_S)
    return [
        JobOutcome(
            r["kind"],
            r["status"],
            None if r["finished_at"] is None else r["finished_at"] - r["created_at"],
        )
        for r in records
    ]


def _round(
    served: ServedApi,
    api: httpx.Client,
    workers: int,
    faces: list[str],
    layouts: list[str],
    clients: int,
    seconds: float,
    edit_steps: int,
    job_timeout_s: float,
) -> Round:
    jobs = [
        _checked(api.post(f"/layouts/{layout}/train"), "training", 202)["id"] for layout in layouts
    ]
    jobs += [_edit(api, faces[i % len(faces)], i, edit_steps) for i in range(EDITS)]
    deadline = time.monotonic() + seconds
    per_client: list[list[Timing]] = [[] for _ in range(clients)]
    threads = [
        threading.Thread(target=_client, args=(served, faces[i % len(faces)], deadline, i, out))
        for i, out in enumerate(per_client)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = _wait_jobs(api, jobs, job_timeout_s)
    timings = [timing for out in per_client for timing in out]
    return Round(workers, latency_stats(timings), sum(not t.ok for t in timings), outcomes)


def _listing(api: httpx.Client, layouts: list[str]) -> tuple:
    faces = sorted(face["id"] for face in api.get("/faces").json())
    samples = sorted(
        sample["id"]
        for layout in layouts
        for sample in api.get(f"/layouts/{layout}/samples").json()
    )
    return faces, sorted(layout["id"] for layout in api.get("/layouts").json()), samples


def _kill_mid_edit(
    api: httpx.Client,
    processes: dict[str, subprocess.Popen],
    logs: dict[str, Path],
    faces: list[str],
    layouts: list[str],
    edit_steps: int,
) -> KillOutcome:
    before = _listing(api, layouts)
    job = _edit(api, faces[0], 5, edit_steps)
    deadline = time.monotonic() + 300
    record = api.get(f"/jobs/{job}").json()
    while record["status"] != "running" or not record.get("progress"):
        if record["status"] in TERMINAL or time.monotonic() > deadline:
            raise LoadTestError(f"the edit to kill did not run (it is {record['status']})")
        time.sleep(0.1)
        record = api.get(f"/jobs/{job}").json()
    runner = _runner_of(job, logs)
    processes[runner].send_signal(signal.SIGKILL)
    processes[runner].wait(10)
    killed = time.monotonic()
    while record["status"] not in TERMINAL and time.monotonic() < killed + 120:
        time.sleep(0.1)
        record = api.get(f"/jobs/{job}").json()
    detected = time.monotonic() - killed
    # only the survivor's own new faces may be added: what was there stays
    after = _listing(api, layouts)
    kept = all(set(b) <= set(a) for b, a in zip(before, after, strict=True))
    render = api.get(f"/faces/{faces[0]}/render", params={"kind": "mask"})
    survivor = _edit(api, faces[0], 6, 2)
    (outcome,) = _wait_jobs(api, [survivor], 300)
    return KillOutcome(
        record["status"],
        record.get("error"),
        detected,
        kept,
        render.status_code == 200,
        outcome.status,
    )


def _runner_of(job: str, logs: dict[str, Path]) -> str:
    """The worker running `job`: the one whose log says so (a worker logs each job it
    starts)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for name, log in logs.items():
            if f"running job {job}" in log.read_text(errors="replace"):
                return name
        time.sleep(0.1)
    raise LoadTestError(f"no worker log says it runs job {job}")


def run_workers(
    model: Path,
    folder: Path,
    clients: int,
    seconds: float,
    samples: int,
    training_steps: int,
    edit_steps: int,
    job_timeout_s: float,
) -> WorkersReport:
    """Redis, the web process and the workers on loopback; the two rounds and the kill."""
    data_dir = folder / "data"
    with ExitStack() as stack:
        broker_url = stack.enter_context(local_redis(folder / "redis"))
        settings = {"edit_steps": str(max(edit_steps, KILL_EDIT_STEPS))}
        processes: dict[str, subprocess.Popen] = {}
        logs: dict[str, Path] = {}

        def start(name: str) -> None:
            logs[name] = folder / f"{name}.log"
            process = start_worker(model, data_dir, broker_url, name, logs[name], settings)
            processes[name] = process
            stack.callback(_stop, process)
            wait_until_serving(process, logs[name])

        start("worker-1")
        web = {
            "FFEDIT_BROKER_URL": broker_url,
            "FFEDIT_TRAINING_STEPS": str(training_steps),
            "FFEDIT_EDIT_STEPS": settings["edit_steps"],
        }
        served = stack.enter_context(served_api(model, data_dir, "cpu", 1, settings=web))
        base = f"{served.url}{API_PREFIX}"
        api = stack.enter_context(
            httpx.Client(base_url=base, headers=served.headers, timeout=REQUEST_TIMEOUT_S)
        )
        faces, layouts = _setup(api, samples)
        arguments = (faces, layouts, clients, seconds, edit_steps, job_timeout_s)
        rounds = [_round(served, api, 1, *arguments)]
        start("worker-2")
        rounds.append(_round(served, api, 2, *arguments))
        kill = _kill_mid_edit(api, processes, logs, faces, layouts, KILL_EDIT_STEPS)
    return WorkersReport(clients, seconds, training_steps, edit_steps, rounds, kill)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def workers_section(result: WorkersReport, model: str, machine: str, date: str, command: str):
    """Markdown body of section `Workers under load`."""
    verdict = "met" if result.meets_targets else "**not met**"
    rows = [
        f"| {r.workers} | {r.renders.count} | {r.not_ok} | {_ms(r.renders.p50)} | "
        f"{_ms(r.renders.p95)} | "
        + ", ".join(
            f"{job.kind} {job.status}" + ("" if job.seconds is None else f" {job.seconds:.0f} s")
            for job in r.jobs
        )
        + " |"
        for r in result.rounds
    ]
    kill = result.kill
    return "\n".join(
        [
            f"`ffedit serve` with `FFEDIT_BROKER_URL` (no model in it) and CPU `ffedit worker`s "
            f"(torch on one thread each) with `{model}`, a throw-away Redis, all on loopback. "
            f"Each round submits {TRAININGS} layout trainings ({result.training_steps} steps) "
            f"and {EDITS} edits ({result.edit_steps} steps), then {result.clients} clients "
            f"drag the view (4 raw 64² previews, then the page's view) for "
            f"{result.seconds:g} s; the round ends when every job has ended.",
            "",
            "| workers | renders | not 200 | p50 ms | p95 ms | jobs (s from submission to end) |",
            "|---:|---:|---:|---:|---:|---|",
            *rows,
            "",
            f"Render p50 with one worker / with two: {result.speedup_p50:.2f}× "
            f"(p95 {result.rounds[0].renders.p95 / result.rounds[1].renders.p95:.2f}×).",
            "",
            f"kill -9 of the worker running an edit: the job read **{kill.status}** "
            f'{kill.detected_after_s:.1f} s later ("{kill.error}"); faces, layouts and '
            f"samples kept: {'yes' if kill.data_kept else '**no**'}; the other worker "
            f"rendered: {'yes' if kill.survivor_rendered else '**no**'}, and ran a new edit: "
            f"{kill.survivor_edit}.",
            "",
            f"Targets: zero errors, every job succeeded, the killed job failed with the reason "
            f"and the rest went on: {verdict}. Machine: {machine}. Date: {date}.",
            "",
            f"Command: `{command}`",
        ]
    )


DESCRIPTION = (
    "Start a throw-away Redis, `ffedit serve` with FFEDIT_BROKER_URL and CPU workers on "
    "127.0.0.1 (temporary data folder); with one worker, then two, run CLIENTS dragging "
    "clients for SECONDS while two trainings and four edits run; then kill -9 the worker "
    "running an edit. Reports render latency per round, errors, the jobs' outcomes and the "
    "kill's; stops everything by itself."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL_PATH, help="checkpoint folder")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--seconds", type=float, default=60.0, help="load per round (60)")
    parser.add_argument("--samples", type=int, default=3, help="samples (and faces) per layout (3)")
    parser.add_argument(
        "--training-steps", type=int, default=40, help="steps of each training (40)"
    )
    parser.add_argument("--edit-steps", type=int, default=30, help="steps of each edit (30)")
    parser.add_argument(
        "--job-timeout", type=float, default=1800, help="longest wait for a round's jobs (1800 s)"
    )
    parser.add_argument("--json", help="write the figures as JSON here")
    parser.add_argument("--markdown", help="Markdown file whose section to update")


def run(args: argparse.Namespace) -> int:
    if not Path(args.model).exists():
        print(f"error: the model {args.model} does not exist", file=sys.stderr)
        return 1
    if (
        args.clients < 1
        or args.seconds <= 0
        or min(args.samples, args.training_steps, args.edit_steps) < 1
    ):
        print(
            "error: --clients, --seconds, --samples, --training-steps and --edit-steps must be "
            "positive",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="ffedit-bench-workers-") as folder:
        try:
            result = run_workers(
                Path(args.model),
                Path(folder),
                args.clients,
                args.seconds,
                args.samples,
                args.training_steps,
                args.edit_steps,
                args.job_timeout,
            )
        except (LoadTestError, httpx.HTTPError, RuntimeError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    stamp = report.stamp("workers", args, torch_threads=False)
    body = workers_section(result, args.model, stamp.machine, stamp.date, stamp.command)
    print(body)
    if args.json:
        payload = dataclasses.asdict(result) | {"command": stamp.command}
        report.write_json(args.json, payload, indent=2, strict=False)
    report.publish(body, args.markdown, SECTION_TITLE, echo=False)
    return 0 if result.meets_targets else 1
