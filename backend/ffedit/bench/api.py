"""`ffedit bench api`: the loopback load benchmark of the API: the real `ffedit serve` in a
subprocess on 127.0.0.1, concurrent clients dragging the view, and the 64² preview round trip.

An HTTP client only (standard library: `http.client`, one keep-alive connection per client
thread); it loads neither torch nor the web stack, and imports nothing of `service` or `api`.
Every run is bounded: the clients stop at their deadline, the server is stopped when
`served_api` exits, and each request has a timeout. The server gets a fresh access token
(FFEDIT_TOKEN) that every request sends (`ServedApi`).

A client repeats what the page does while the user drags the view sliders: `PREVIEWS_PER_DRAG`
raw 64² previews at successive yaws, then on release the page's view at the last angle (one
request: the super-resolved RGB and the predicted mask from one render).
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from ffedit.bench import report
from ffedit.config import DEFAULT_MODEL_PATH

SECTION_TITLE = "API load"
LOOPBACK = "127.0.0.1"
API_PREFIX = "/api/v1"
PREVIEW_SIDE = 64
PREVIEWS_PER_DRAG = 4
DRAG_YAWS = (-0.4, -0.2, 0.0, 0.2, 0.4)
"""Yaw angles (radians from the front) a drag moves through, cyclically."""
REQUEST_TIMEOUT_S = 120.0
STARTUP_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
REQUEST_KINDS = ("preview", "view")


class LoadTestError(Exception):
    """The server could not be started or answered the setup requests wrongly."""


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def server_environment(
    model: Path,
    data_dir: Path,
    device: str,
    torch_threads: int | None,
    settings: dict[str, str] | None = None,
) -> dict[str, str]:
    """This process's environment with the FFEDIT_* settings of the served app (`settings`:
    more of them, by environment variable)."""
    environment = {
        **os.environ,
        "FFEDIT_MODEL": str(model),
        "FFEDIT_DATA_DIR": str(data_dir),
        "FFEDIT_DEVICE": device,
        **(settings or {}),
    }
    if torch_threads is not None:
        environment["FFEDIT_TORCH_THREADS"] = str(torch_threads)
    return environment


@dataclass(frozen=True)
class ServedApi:
    """A served app on loopback: its port and the access token its requests send."""

    port: int
    token: str = dataclasses.field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """The header that logs a request in."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def login_url(self) -> str:
        """The link `ffedit serve` prints: opening it logs a browser in."""
        return f"{self.url}/?token={self.token}"

    def connection(self, timeout: float = REQUEST_TIMEOUT_S) -> TokenConnection:
        return TokenConnection(self, timeout)


class TokenConnection(http.client.HTTPConnection):
    """A keep-alive connection to a served app whose every request sends its token."""

    def __init__(self, served: ServedApi, timeout: float) -> None:
        super().__init__(LOOPBACK, served.port, timeout=timeout)
        self.credentials = served.headers

    def request(self, method, url, body=None, headers=None, **options) -> None:
        super().request(method, url, body, {**(headers or {}), **self.credentials}, **options)


def _request(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def _healthy(port: int) -> bool:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=5)  # needs no token
    try:
        return _request(connection, "GET", f"{API_PREFIX}/health")[0] == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def served_api(
    model: Path,
    data_dir: Path,
    device: str = "cpu",
    torch_threads: int | None = None,
    settings: dict[str, str] | None = None,
) -> Iterator[ServedApi]:
    """Run `ffedit serve` on 127.0.0.1 at a free port, with a fresh access token, until the
    block ends; yields the port and token once /api/v1/health answers 200. `LoadTestError`
    if it exits or stays unhealthy for `STARTUP_TIMEOUT_S`; the server is terminated (killed
    if it lingers) on exit."""
    port = free_loopback_port()
    token = secrets.token_urlsafe(32)
    command = [sys.executable, "-m", "ffedit.cli", "serve", "--host", LOOPBACK]
    environment = server_environment(model, data_dir, device, torch_threads, settings)
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env={**environment, "FFEDIT_TOKEN": token},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(port):
            if process.poll() is not None:
                log = process.stderr.read().decode(errors="replace")[-2000:]
                raise LoadTestError(f"ffedit serve exited with {process.returncode}: {log}")
            if time.monotonic() > deadline:
                raise LoadTestError(f"ffedit serve was not healthy after {STARTUP_TIMEOUT_S} s")
            time.sleep(0.2)
        yield ServedApi(port, token)
    finally:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def create_face(served: ServedApi, seed: int = 0) -> str:
    """Id of a new face made from `seed` on the served app."""
    connection = served.connection()
    try:
        body = json.dumps({"seed": seed}).encode()
        status, answer = _request(connection, "POST", f"{API_PREFIX}/faces", body)
    finally:
        connection.close()
    if status != 201:
        raise LoadTestError(f"creating a face answered {status}: {answer[:500]!r}")
    return json.loads(answer)["id"]


def request_path(face_id: str, kind: str, yaw: float) -> str:
    """The URL path of one request of `kind` (preview or view) at `yaw`."""
    face = f"{API_PREFIX}/faces/{face_id}"
    view = {"yaw": f"{yaw:.3f}", "pitch": "0"}
    if kind == "preview":
        return f"{face}/render?{urlencode({**view, 'kind': 'rgb', 'size': PREVIEW_SIDE})}"
    if kind == "view":
        return f"{face}/view?{urlencode(view)}"
    raise ValueError(f"unknown request kind {kind!r}; known: {', '.join(REQUEST_KINDS)}")


def drag_requests(face_id: str, drag: int) -> list[tuple[str, str]]:
    """(kind, path) of one drag: the previews along the way, then the page's view."""
    yaws = [DRAG_YAWS[(drag + i) % len(DRAG_YAWS)] for i in range(PREVIEWS_PER_DRAG)]
    previews = [("preview", request_path(face_id, "preview", yaw)) for yaw in yaws]
    return [*previews, ("view", request_path(face_id, "view", yaws[-1]))]


@dataclass(frozen=True)
class Timing:
    """One request: its kind, round trip seconds, whether it was a 200 (a PNG where one was
    expected) and its status (0: no answer)."""

    kind: str
    seconds: float
    ok: bool
    status: int = 0


def timed_get(
    connection: http.client.HTTPConnection, kind: str, path: str, png: bool = True
) -> Timing:
    """One timed GET on `connection` (reconnected on the next request after a failure)."""
    start = time.perf_counter()
    status = 0
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        status = response.status
        ok = status == 200 and (not png or body.startswith(b"\x89PNG"))
    except (OSError, http.client.HTTPException):
        connection.close()
        ok = False
    return Timing(kind, time.perf_counter() - start, ok, status)


def _client_loop(
    served: ServedApi, face_id: str, deadline: float, client: int, out: list[Timing]
) -> None:
    connection = served.connection()
    drag = client
    try:
        while time.monotonic() < deadline:
            for kind, path in drag_requests(face_id, drag):
                if time.monotonic() >= deadline:
                    break
                out.append(timed_get(connection, kind, path, png=kind == "preview"))
            drag += 1
    finally:
        connection.close()


def run_clients(served: ServedApi, face_id: str, clients: int, seconds: float) -> list[Timing]:
    """Every request of `clients` threads dragging for `seconds` (requests started before the
    deadline finish; none starts after it)."""
    if clients < 1 or seconds <= 0:
        raise ValueError(f"need ≥ 1 client and a positive duration, got {clients}, {seconds}")
    per_client: list[list[Timing]] = [[] for _ in range(clients)]
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_client_loop, args=(served, face_id, deadline, i, per_client[i]))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [timing for timings in per_client for timing in timings]


def sequential_previews(served: ServedApi, face_id: str, count: int) -> list[Timing]:
    """`count` 64² preview round trips, one at a time on one connection (after one warm-up)."""
    connection = served.connection()
    try:
        timed_get(connection, "preview", request_path(face_id, "preview", 0.0))
        return [
            timed_get(connection, "preview", request_path(face_id, "preview", yaw))
            for yaw in (DRAG_YAWS[i % len(DRAG_YAWS)] for i in range(count))
        ]
    finally:
        connection.close()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class LatencyStats:
    """Count, failures and round-trip percentiles (seconds) of a set of requests."""

    count: int
    errors: int
    p50: float
    p95: float
    p99: float


def latency_stats(timings: list[Timing]) -> LatencyStats:
    seconds = [t.seconds for t in timings]
    return LatencyStats(
        count=len(timings),
        errors=sum(not t.ok for t in timings),
        p50=percentile(seconds, 50),
        p95=percentile(seconds, 95),
        p99=percentile(seconds, 99),
    )


@dataclass(frozen=True)
class LoadReport:
    """What `ffedit bench api` measured: the load run (all requests and per kind) and the
    single-client 64² preview round trip."""

    clients: int
    seconds: float
    overall: LatencyStats
    by_kind: dict[str, LatencyStats]
    single_preview: LatencyStats

    @property
    def requests_per_second(self) -> float:
        return self.overall.count / self.seconds


def load_report(
    clients: int, seconds: float, timings: list[Timing], previews: list[Timing]
) -> LoadReport:
    return LoadReport(
        clients=clients,
        seconds=seconds,
        overall=latency_stats(timings),
        by_kind={
            kind: latency_stats([t for t in timings if t.kind == kind]) for kind in REQUEST_KINDS
        },
        single_preview=latency_stats(previews),
    )


def run_load_benchmark(
    model: Path,
    data_dir: Path,
    clients: int,
    seconds: float,
    preview_count: int,
    device: str = "cpu",
    torch_threads: int | None = None,
) -> LoadReport:
    """Serve `model` on loopback with data in `data_dir`, create a face (seed 0), run the
    clients for `seconds`, then `preview_count` sequential previews; the server is stopped."""
    with served_api(model, data_dir, device, torch_threads) as served:
        face_id = create_face(served)
        timings = run_clients(served, face_id, clients, seconds)
        previews = sequential_previews(served, face_id, preview_count)
    return load_report(clients, seconds, timings, previews)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def load_section(report: LoadReport, model: str, machine: str, date: str, command: str) -> str:
    """Markdown body of section `API load`."""
    rows = (
        [("all", report.overall)]
        + [(kind, report.by_kind[kind]) for kind in REQUEST_KINDS]
        + [("single-client 64² preview", report.single_preview)]
    )
    table = [
        "| requests | count | errors | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {s.count} | {s.errors} | {_ms(s.p50)} | {_ms(s.p95)} | {_ms(s.p99)} |"
            for name, s in rows
        ),
    ]
    return "\n".join(
        [
            f"{report.clients} concurrent clients on loopback for {report.seconds:g} s against "
            f"`ffedit serve` with `{model}`; each drags the view: {PREVIEWS_PER_DRAG} raw "
            f"{PREVIEW_SIDE}² previews, then the page's view (super-resolved RGB and "
            "predicted mask from one render). Then one client alone: "
            f"{report.single_preview.count} sequential {PREVIEW_SIDE}² previews (round trip, "
            "HTTP included).",
            "",
            *table,
            "",
            f"Throughput: {report.requests_per_second:.1f} requests/s. Machine: {machine}. "
            f"Date: {date}.",
            "",
            f"Command: `{command}`",
        ]
    )


DESCRIPTION = (
    "Start `ffedit serve` on 127.0.0.1 (free port, temporary data folder), create a face, "
    "run CLIENTS concurrent clients dragging the view (64² previews, then the page's view: "
    "image and mask) for SECONDS, then time single-client 64² preview round trips. Reports count, "
    "errors and p50/p95/p99 latency; stops the server by itself."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL_PATH, help="checkpoint folder")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--seconds", type=float, default=30.0, help="load duration (30)")
    parser.add_argument(
        "--previews", type=int, default=50, help="sequential single-client previews (50)"
    )
    parser.add_argument("--device", default="cpu", help="device of the server (default cpu)")
    parser.add_argument("--threads", type=int, help="torch threads of the server (default all)")
    parser.add_argument("--json", help="write the figures as JSON here")
    parser.add_argument("--markdown", help="Markdown file whose section to update")


def run(args: argparse.Namespace) -> int:
    if not Path(args.model).exists():
        print(f"error: the model {args.model} does not exist", file=sys.stderr)
        return 1
    if args.clients < 1 or args.seconds <= 0 or args.previews < 1:
        print("error: --clients, --seconds and --previews must be positive", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ffedit-bench-api-") as data_dir:
        try:
            load = run_load_benchmark(
                Path(args.model),
                Path(data_dir),
                args.clients,
                args.seconds,
                args.previews,
                args.device,
                args.threads,
            )
        except LoadTestError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    run_stamp = report.stamp("api", args, torch_threads=False)
    body = load_section(load, args.model, run_stamp.machine, run_stamp.date, run_stamp.command)
    print(body)
    if args.json:
        payload = dataclasses.asdict(load) | {
            "requests_per_second": load.requests_per_second,
            "command": run_stamp.command,
        }
        report.write_json(args.json, payload, indent=2, strict=False)
    report.publish(body, args.markdown, SECTION_TITLE, echo=False)
    return 0 if load.overall.errors == 0 and load.single_preview.errors == 0 else 1
