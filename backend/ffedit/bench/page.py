"""`ffedit bench page`: the real page in headless Chromium, timed as a user meets it.

The real `ffedit serve` in a subprocess on 127.0.0.1 (`bench.api.served_api`) with the
defaults a user gets (no step overrides), a temporary data folder, Debian's Chromium driven
by Playwright. Setup through the API (not timed): a custom layout (base15 + one class) with
`--samples` annotated samples, each a face's predicted front mask with a square of the new
class painted on the cheek. Then, through the page, as a user does it:

- first face: `--loads` fresh browser contexts open the page; navigation start → the first
  face on the canvas (the median is reported, the first load warms the server's caches);
- named views: Left, Right, Front clicked in turn; click → the view on the canvas;
- drag: the yaw slider dragged for `DRAG_S` seconds with the mouse (a sweep to about +35°);
  previews shown while the button is down, release → the full view on the canvas;
- edit: a short stroke of the nose class, Edit pressed → the before/after table shown;
- training: the custom layout picked, Train pressed → "Training finished." and its report;
- ZIP: Download ZIP pressed → the browser's download starts.

Times come from the page's own clock (`performance.now()`, `performance.mark("ffedit:view")`
and `"ffedit:preview"`, see frontend/src/ui/viewer.js). The server's job records give how
much of the edit and training was queueing and running, the rest is the page. The load
average is taken before the server starts; a run is only meaningful on a quiet machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ffedit.bench import report
from ffedit.bench.api import API_PREFIX, REQUEST_TIMEOUT_S, LoadTestError, served_api
from ffedit.bench.busy import painted_sample
from ffedit.config import DEFAULT_MODEL_PATH

SECTION_TITLE = "The page"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
NAMED_VIEWS = ("left", "right", "front")
DRAG_S = 3.0
DRAG_MOVE_S = 0.05
"""Pause between two mouse moves of the drag (a 20 Hz pointer)."""
DRAG_SWEEP = 0.75 * math.pi
"""The drag follows sin(DRAG_SWEEP · t / DRAG_S) of the slider's half width: out and partly
back, ending at about +35°."""
POLL_MS = 20
ACTION_TIMEOUT_S = 300.0
EDIT_CLASS = "nose"

TARGETS_S = {"first_face": 2.0, "view_change": 1.0, "drag_final": 1.5, "edit": 25.0}
TARGETS_S |= {"training": 60.0, "zip": 30.0}
DRAG_PREVIEWS_TARGET = 4

FIRST_VIEW_JS = """() => {
  const mark = performance.getEntriesByName("ffedit:view")[0];
  return mark ? mark.startTime : false;
}"""
VIEW_AFTER_JS = """t => {
  const mark = performance.getEntriesByName("ffedit:view").find(m => m.startTime > t);
  return mark ? mark.startTime : false;
}"""
CLICK_JS = """selector => {
  const t = performance.now();
  document.querySelector(selector).click();
  return t;
}"""
EDIT_SHOWN_JS = """() => {
  const result = document.getElementById("edit-result");
  const images = [...result.querySelectorAll("img")];
  const drawn = images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0);
  return !result.hidden && drawn ? performance.now() : false;
}"""
TRAINED_JS = """() => {
  const status = document.querySelector('#train-progress [data-role="progress-status"]');
  const table = document.querySelector('#layout-teach [data-role="training-report"]');
  const done = status?.textContent === "Training finished." && table && !table.hidden;
  return done ? performance.now() : (status?.textContent?.includes("failed") ? -1 : false);
}"""


@dataclass(frozen=True)
class JobTimes:
    """A job's steps and, from the server's record, its seconds queued and running."""

    steps: int
    queued_s: float
    ran_s: float


@dataclass(frozen=True)
class PageReport:
    load_average: float
    """1-minute load average before the server started."""
    first_face_s: list[float]
    """Per fresh page, navigation → first face drawn."""
    view_change_s: dict[str, float]
    drag_previews: int
    drag_final_s: float
    edit_s: float
    edit_job: JobTimes
    training_s: float
    training_job: JobTimes
    training_samples: int
    zip_s: float
    zip_bytes: int
    export_job: JobTimes

    def rows(self) -> list[tuple[str, str, str, bool]]:
        """(action, measured, target, met) per target of the issue."""
        first = statistics.median(self.first_face_s)
        slowest_view = max(self.view_change_s.values())
        return [
            ("first face", f"{first:.2f} s", "≤ 2 s", first <= TARGETS_S["first_face"]),
            (
                "named view change (slowest of " + ", ".join(self.view_change_s) + ")",
                f"{slowest_view:.2f} s",
                "≤ 1 s",
                slowest_view <= TARGETS_S["view_change"],
            ),
            (
                f"previews shown during a {DRAG_S:g}-s yaw drag",
                str(self.drag_previews),
                f"≥ {DRAG_PREVIEWS_TARGET}",
                self.drag_previews >= DRAG_PREVIEWS_TARGET,
            ),
            (
                "release → final view",
                f"{self.drag_final_s:.2f} s",
                "≤ 1.5 s",
                self.drag_final_s <= TARGETS_S["drag_final"],
            ),
            (
                f"edit, {self.edit_job.steps} steps: press → table shown",
                f"{self.edit_s:.1f} s",
                "≤ 25 s",
                self.edit_s <= TARGETS_S["edit"],
            ),
            (
                f"training, {self.training_samples} samples, {self.training_job.steps} steps: "
                "press → report shown",
                f"{self.training_s:.1f} s",
                "≤ 60 s",
                self.training_s <= TARGETS_S["training"],
            ),
            (
                f"Download ZIP: press → download ({self.zip_bytes / 1e6:.1f} MB)",
                f"{self.zip_s:.1f} s",
                "≤ 30 s",
                self.zip_s <= TARGETS_S["zip"],
            ),
        ]

    @property
    def meets_targets(self) -> bool:
        return all(met for *_, met in self.rows())


def chromium_path() -> Path | None:
    """Debian's Chromium, where installed."""
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def drag_offsets(width: float, seconds: float = DRAG_S, every: float = DRAG_MOVE_S) -> list[float]:
    """Pointer x offsets from the slider's centre, one per move of the drag."""
    moves = max(1, round(seconds / every))
    half = width / 2 - 8  # keep inside the track
    return [half * math.sin(DRAG_SWEEP * (i + 1) / moves) for i in range(moves)]


def _job_times(record: dict) -> JobTimes:
    started, finished = record.get("started_at"), record.get("finished_at")
    if record["status"] != "succeeded" or started is None or finished is None:
        raise LoadTestError(f"the {record['kind']} job {record['status']}: {record.get('error')}")
    params = record["params"]
    steps = record["result"].get("steps") or params.get("steps") or params.get("frames") or 0
    return JobTimes(int(steps), started - record["created_at"], finished - started)


def _latest_job(api: httpx.Client, kind: str) -> dict:
    for record in api.get("/jobs", params={"limit": 20}).json():
        if record["kind"] == kind:
            return api.get(f"/jobs/{record['id']}").json()
    raise LoadTestError(f"the server has no {kind} job")


def _checked(answer: httpx.Response, what: str, status: int) -> dict:
    if answer.status_code != status:
        raise LoadTestError(f"{what} answered {answer.status_code}: {answer.text[:300]}")
    return answer.json()


def prepare_layout(api: httpx.Client, samples: int) -> str:
    """A layout "cheek-mark" (base15 + one class) with a sample per face (seeds 1…samples):
    the predicted front mask with a square of the new class on the cheek. Its id."""
    mark = {"name": "mark", "color": [250, 10, 200]}
    body = {"name": "cheek-mark", "base": "base15", "classes": [mark]}
    layout = _checked(api.post("/layouts", json=body), "creating a layout", 201)
    for offset in range(samples):
        face = _checked(api.post("/faces", json={"seed": offset + 1}), "creating a face", 201)
        params = {"layout": layout["id"], "view": "front"}
        predicted = api.get(f"/faces/{face['id']}/mask", params=params)
        png = painted_sample(predicted.content, len(layout["classes"]) - 1, offset % 4)
        answer = api.post(
            f"/layouts/{layout['id']}/samples",
            data={"face_id": face["id"], "view": "front"},
            files={"mask": ("mask.png", png, "image/png")},
        )
        _checked(answer, "adding a sample", 201)
    return layout["id"]


def _wait_value(page, script: str, arg=None) -> float:
    """The first truthy value `script(arg)` returns, polled every `POLL_MS`."""
    handle = page.wait_for_function(
        script, arg=arg, polling=POLL_MS, timeout=ACTION_TIMEOUT_S * 1000
    )
    return float(handle.json_value())


def time_first_face(browser, url: str) -> float:
    """A fresh context opens the page at `url` (the start-up link: it logs in first):
    seconds from navigation start to the first face."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        return _wait_value(page, FIRST_VIEW_JS) / 1000
    finally:
        context.close()


def time_named_view(page, view: str) -> float:
    started = page.evaluate(CLICK_JS, f'#view-named button[data-view="{view}"]')
    return (_wait_value(page, VIEW_AFTER_JS, started) - started) / 1000


def time_drag(page) -> tuple[int, float]:
    """Drag the yaw slider for `DRAG_S` s: previews shown while the button was down, and
    seconds from release to the full view."""
    box = page.locator("#view-yaw").bounding_box()
    centre_x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(centre_x, y)
    page.mouse.down()
    pressed = page.evaluate("performance.now()")
    for offset in drag_offsets(box["width"]):
        time.sleep(DRAG_MOVE_S)
        page.mouse.move(centre_x + offset, y)
    released = page.evaluate("performance.now()")
    page.mouse.up()
    shown = _wait_value(page, VIEW_AFTER_JS, released)
    previews = page.evaluate(
        """([from, to]) => performance.getEntriesByName("ffedit:preview")
             .filter(m => m.startTime > from && m.startTime <= to).length""",
        [pressed, released],
    )
    return int(previews), (shown - released) / 1000


def _stroke(page, x0: float, x1: float, y: float) -> None:
    box = page.locator("#mask-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * x0, box["y"] + box["height"] * y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * x1, box["y"] + box["height"] * y, steps=8)
    page.mouse.up()


def time_edit(page) -> float:
    """Paint a short stroke of the nose class (widening it), press Edit: seconds until the
    before/after table shows its images."""
    page.locator("#palette button", has_text=EDIT_CLASS).first.click()
    page.locator("#tool-size").fill("2")
    _stroke(page, 0.45, 0.55, 0.56)
    started = page.evaluate(CLICK_JS, "#edit-start")
    return (_wait_value(page, EDIT_SHOWN_JS) - started) / 1000


def time_training(page, layout_id: str) -> float:
    page.locator("#view-layout").select_option(layout_id)
    page.wait_for_function(
        "id => window.ffedit.viewer.loaded?.layoutId === id",
        arg=layout_id,
        timeout=ACTION_TIMEOUT_S * 1000,
    )
    page.locator("#layout-train").wait_for(state="visible")
    started = page.evaluate(CLICK_JS, "#layout-train")
    ended = _wait_value(page, TRAINED_JS)
    if ended < 0:
        raise LoadTestError("the training failed in the page")
    return (ended - started) / 1000


def time_zip(page) -> tuple[float, int]:
    with page.expect_download(timeout=ACTION_TIMEOUT_S * 1000) as waiting:
        started = time.monotonic()
        page.locator("#download-zip").click()
    download = waiting.value
    seconds = time.monotonic() - started
    return seconds, os.path.getsize(download.path())


def server_settings(
    edit_steps: int | None, training_steps: int | None, orbit_frames: int | None
) -> dict[str, str]:
    """The served app's FFEDIT_* overrides (none: the defaults a user gets)."""
    chosen = {
        "FFEDIT_EDIT_STEPS": edit_steps,
        "FFEDIT_TRAINING_STEPS": training_steps,
        "FFEDIT_ORBIT_FRAMES": orbit_frames,
    }
    return {name: str(value) for name, value in chosen.items() if value is not None}


def run_page(
    model: Path,
    data_dir: Path,
    loads: int,
    samples: int,
    device: str = "cpu",
    settings: dict[str, str] | None = None,
) -> PageReport:
    """Serve the model (`settings`: FFEDIT_* overrides), set up the layout, drive the page;
    the server is stopped."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise LoadTestError("Playwright is missing: pip install -e '.[dev]'") from error
    executable = chromium_path()
    if executable is None:
        raise LoadTestError("Chromium is missing: apt-get install chromium")
    load_average = os.getloadavg()[0]
    with served_api(model, data_dir, device, settings=settings) as served:
        base = served.url + API_PREFIX
        with httpx.Client(base_url=base, headers=served.headers, timeout=REQUEST_TIMEOUT_S) as api:
            layout_id = prepare_layout(api, samples)
            try:
                measured = _drive_page(
                    sync_playwright, executable, served.login_url, api, layout_id, loads
                )
            except PlaywrightError as error:
                raise LoadTestError(f"the page did not do what was asked: {error}") from error
    return PageReport(load_average=load_average, training_samples=samples, **measured)


def _drive_page(
    sync_playwright, executable: Path, url: str, api: httpx.Client, layout_id: str, loads: int
) -> dict:
    """The timed actions in one browser (each context opens `url`, the start-up link):
    PageReport's fields other than the setup's."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            first_face = [time_first_face(browser, url) for _ in range(loads + 1)][1:]
            context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
            page = context.new_page()
            page.goto(url)
            _wait_value(page, FIRST_VIEW_JS)
            views = {view: time_named_view(page, view) for view in NAMED_VIEWS}
            previews, drag_final = time_drag(page)
            edit_s = time_edit(page)
            edit_job = _job_times(_latest_job(api, "edit"))
            training_s = time_training(page, layout_id)
            training_job = _job_times(_latest_job(api, "train-layout"))
            zip_s, zip_bytes = time_zip(page)
            export_job = _job_times(_latest_job(api, "export"))
        finally:
            browser.close()
    return {
        "first_face_s": first_face,
        "view_change_s": views,
        "drag_previews": previews,
        "drag_final_s": drag_final,
        "edit_s": edit_s,
        "edit_job": edit_job,
        "training_s": training_s,
        "training_job": training_job,
        "zip_s": zip_s,
        "zip_bytes": zip_bytes,
        "export_job": export_job,
    }


def page_section(
    result: PageReport,
    model: str,
    machine: str,
    date: str,
    command: str,
    settings: dict[str, str] | None = None,
) -> str:
    """Markdown body of section `The page` (`settings`: the server's overrides, if any)."""
    verdict = "all met" if result.meets_targets else "**not all met**"
    overrides = ", ".join(f"{name}={value}" for name, value in (settings or {}).items())
    served_with = f"**overridden: {overrides}**" if overrides else "with the defaults a user gets"
    rows = [
        f"| {action} | {measured} | {target} | {'yes' if met else '**no**'} |"
        for action, measured, target, met in result.rows()
    ]
    views = ", ".join(f"{view} {s:.2f} s" for view, s in result.view_change_s.items())
    loads = ", ".join(f"{s:.2f}" for s in result.first_face_s)
    jobs = [
        f"edit job: {result.edit_job.queued_s:.1f} s queued, {result.edit_job.ran_s:.1f} s running",
        f"training job: {result.training_job.queued_s:.1f} s queued, "
        f"{result.training_job.ran_s:.1f} s running",
        f"export job ({result.export_job.steps} orbit frames): "
        f"{result.export_job.queued_s:.1f} s queued, {result.export_job.ran_s:.1f} s running",
    ]
    return "\n".join(
        [
            f"The page in headless Chromium (Playwright) against `ffedit serve` with `{model}` "
            f"on loopback, {served_with}; times from the page's clock, from the user's action "
            "to what the page shows.",
            "",
            "| action | measured | target | met |",
            "|---|---:|---:|---|",
            *rows,
            "",
            f"First face per fresh page (after one warm-up load): {loads} s. Named views: "
            f"{views}. Server side ({'; '.join(jobs)}); the rest of each end-to-end time is "
            "the page (requests, progress, the result's images).",
            "",
            f"Targets: {verdict}. Machine: {machine}, load {result.load_average:.1f} before the "
            f"server started. Date: {date}.",
            "",
            f"Command: `{command}`",
        ]
    )


DESCRIPTION = (
    "Start `ffedit serve` on 127.0.0.1 (free port, temporary data folder, a user's "
    "defaults), set up a layout with SAMPLES samples, and drive the real page in headless "
    "Chromium: first face, named views, a yaw drag, an edit, a training and the ZIP, timed "
    "from the user's action to what the page shows. Needs Playwright and Chromium."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL_PATH, help="checkpoint folder")
    parser.add_argument("--loads", type=int, default=3, help="fresh page loads timed (3)")
    parser.add_argument(
        "--samples", type=int, default=10, help="samples of the layout trained (10)"
    )
    parser.add_argument("--device", default="cpu", help="device of the server (default cpu)")
    for option, what in (
        ("--edit-steps", "steps of an edit"),
        ("--training-steps", "steps of a layout training"),
        ("--orbit-frames", "frames of the export's orbit video"),
    ):
        parser.add_argument(
            option, type=int, help=f"{what} (default: the server's, as a user gets it)"
        )
    parser.add_argument("--json", help="write the figures as JSON here")
    parser.add_argument("--markdown", help="Markdown file whose section to update")


def run(args: argparse.Namespace) -> int:
    if not Path(args.model).exists():
        print(f"error: the model {args.model} does not exist", file=sys.stderr)
        return 1
    overrides = (args.edit_steps, args.training_steps, args.orbit_frames)
    if min(args.loads, args.samples) < 1 or any(v is not None and v < 1 for v in overrides):
        print("error: --loads, --samples and the step options must be positive", file=sys.stderr)
        return 2
    settings = server_settings(*overrides)
    with tempfile.TemporaryDirectory(prefix="ffedit-bench-page-") as data_dir:
        try:
            result = run_page(
                Path(args.model), Path(data_dir), args.loads, args.samples, args.device, settings
            )
        except (LoadTestError, httpx.HTTPError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    stamp = report.stamp("page", args, torch_threads=False)
    body = page_section(result, args.model, stamp.machine, stamp.date, stamp.command, settings)
    print(body)
    if args.json:
        payload = dataclasses.asdict(result) | {"command": stamp.command}
        report.write_json(args.json, payload, indent=2, strict=False)
    report.publish(body, args.markdown, SECTION_TITLE, echo=False)
    return 0 if result.meets_targets else 1


__all__ = [
    "PageReport",
    "chromium_path",
    "drag_offsets",
    "page_section",
    "run_page",
    "server_settings",
]
