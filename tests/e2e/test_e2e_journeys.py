"""The user journeys in the real page against the real server: teach a new layout from
samples (painted and uploaded) and train it with progress shown; an edit with before/after,
undo and a reload that finds the job again; the export ZIP; bad uploads shown as sentences
next to their controls; the view's sliders; the page's icon and its narrow layout. None of
them logs a console error or warning (the `page` fixture checks) but the refused uploads'
422s."""

from __future__ import annotations

import io
import itertools
import math
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.e2e

SPOT_COLOUR = "#0ac81e"
TIMEOUT_MS = 60_000
"""Long enough for an edit's eight serial full renders on a busy 2-core CPU (~40 s seen)."""
_names = itertools.count()


def _wait_for_layout(page, layout_id: str) -> None:
    page.wait_for_function(
        "id => window.ffedit.viewer.loaded?.layoutId === id", arg=layout_id, timeout=TIMEOUT_MS
    )


def _wait_for_face(page, face_id: str) -> None:
    page.wait_for_function(
        "id => window.ffedit.viewer.loaded?.faceId === id", arg=face_id, timeout=TIMEOUT_MS
    )


def _stroke(page, fraction_y: float = 0.5) -> None:
    """A horizontal stroke across the middle of the canvas."""
    box = page.locator("#mask-canvas").bounding_box()
    y = box["y"] + box["height"] * fraction_y
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, y, steps=10)
    page.mouse.up()


def _take_refusal(console_messages: list[str], path: str) -> None:
    """Take out the console error Chromium logs for the 422 answer to a refused upload to
    `path` (there must be one)."""
    refused = [text for text in console_messages if "status of 422" in text and path in text]
    assert refused, console_messages
    for text in refused:
        console_messages.remove(text)


def _indexed_png(labels: np.ndarray) -> bytes:
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette([0, 0, 0] * 256)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _create_layout(page) -> tuple[str, int]:
    """A layout "spots-n" on base15 with one new class; returns its id and the class id."""
    name = f"spots-{next(_names)}"
    page.locator("#layout-new summary").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.locator("#layout-base").select_option("base15")
    page.get_by_label("Name of new class 1").fill("spot")
    page.get_by_label("Colour of new class 1").fill(SPOT_COLOUR)
    page.get_by_role("button", name="Create layout").click()
    page.wait_for_function(
        "name => window.ffedit.state.get('layouts')?.some(l => l.name === name && "
        "l.id === window.ffedit.state.get('layoutId'))",
        arg=name,
        timeout=TIMEOUT_MS,
    )
    layout_id = page.evaluate("window.ffedit.state.get('layoutId')")
    _wait_for_layout(page, layout_id)
    return layout_id, page.locator("#palette button").count() - 1


def test_teach_a_layout_from_samples_and_train_it(page, screenshot, console_messages):
    layout_id, spot = _create_layout(page)
    assert page.locator("#layout-teach").is_visible()
    assert page.locator(f'#palette button[data-class-id="{spot}"]').inner_text() == "spot"

    page.locator(f'#palette button[data-class-id="{spot}"]').click()
    _stroke(page)
    page.get_by_role("button", name="Add the painted mask as a sample").click()
    expect_samples(page, 1)

    page.locator('#view-named button[data-view="left"]').click()
    page.wait_for_function("window.ffedit.viewer.loaded?.view?.view === 'left'", timeout=TIMEOUT_MS)
    _stroke(page, 0.4)
    page.get_by_role("button", name="Add the painted mask as a sample").click()
    expect_samples(page, 2)

    # New samples name their face and view; an upload asks before it is added to them.
    face_id = page.evaluate("window.ffedit.viewer.loaded.faceId")
    target = page.locator('#layout-teach [data-role="sample-target"]')
    assert f"face {face_id}" in target.inner_text() and "at the left view" in target.inner_text()
    question = page.locator('#layout-teach [data-role="upload-question"]')
    page.locator("#sample-upload").set_input_files(
        files=[{"name": "unwanted.png", "mimeType": "image/png", "buffer": b"not a png"}]
    )
    question.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert question.get_by_role("button", name="Add").evaluate("b => b === document.activeElement")
    page.keyboard.press("Escape")
    question.wait_for(state="hidden", timeout=TIMEOUT_MS)
    expect_samples(page, 2)

    # A bad upload is a sentence next to the upload control; a good one becomes a sample.
    page.locator("#sample-upload").set_input_files(
        files=[{"name": "mask.png", "mimeType": "image/png", "buffer": b"not a png"}]
    )
    asked = question.inner_text()
    assert f"“mask.png” as a sample of face {face_id}" in asked and "at the left view?" in asked
    question.get_by_role("button", name="Add").click()
    error = page.locator("#sample-error")
    error.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "not a PNG" in error.inner_text()
    _take_refusal(console_messages, f"/layouts/{layout_id}/samples")
    size = page.evaluate("window.ffedit.state.get('model').mask_resolution")
    labels = np.ones((size, size), dtype=np.uint8)
    labels[: size // 4, : size // 4] = spot
    page.locator("#sample-upload").set_input_files(
        files=[{"name": "mask.png", "mimeType": "image/png", "buffer": _indexed_png(labels)}]
    )
    question.get_by_role("button", name="Add").click()
    expect_samples(page, 3)
    assert error.is_hidden() and question.is_hidden()

    page.locator("#layout-train").click()
    status = page.locator('#train-progress [data-role="progress-status"]')
    page.wait_for_function(
        "() => document.querySelector('#train-progress [data-role=\"progress-status\"]')"
        "?.textContent === 'Training finished.'",
        timeout=TIMEOUT_MS,
    )
    assert status.inner_text() == "Training finished."
    progress_text = page.locator('#train-progress [data-role="progress-text"]').inner_text()
    assert progress_text == "", "a finished job shows no progress text"
    name = page.evaluate(
        "id => window.ffedit.state.get('layouts').find(l => l.id === id).name", layout_id
    )
    job = page.locator("#job-list li").first
    assert job.inner_text() == f"Training layout “{name}” finished.", job.inner_text()
    assert page.locator("#train-progress img").is_visible()
    # Per class, how well its own samples are reproduced, and a warning if it was not learned.
    report = page.locator('#layout-teach [data-role="training-report"]')
    report.wait_for(state="visible", timeout=TIMEOUT_MS)
    row = report.locator('tr[data-class-name="spot"]')
    cells = row.locator("td").all_inner_texts()
    assert re.fullmatch(r"\d\.\d\d", cells[0]) and int(cells[1]) > 0, cells
    warnings = report.locator('[data-role="training-warnings"] li').all_inner_texts()
    if float(cells[0]) < 0.2:
        assert row.get_attribute("data-learned") == "no"
        assert any(w.startswith("spot: not learned (IoU ") for w in warnings), warnings
        assert all("3D shape" in w and "add samples" in w for w in warnings), warnings
    else:
        assert warnings == [], warnings
    page.wait_for_function(
        "id => window.ffedit.state.get('layouts').find(l => l.id === id)?.trained",
        arg=layout_id,
        timeout=TIMEOUT_MS,
    )
    assert "(trained)" in page.locator("#layout-teach-title").inner_text()
    assert "untrained" not in page.locator("#view-layout option:checked").inner_text()
    page.wait_for_function(
        "document.getElementById('canvas-status').textContent.includes('spots')",
        timeout=TIMEOUT_MS,
    )
    screenshot(page, "layout-trained")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def expect_samples(page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#sample-list li').length === n",
        arg=count,
        timeout=TIMEOUT_MS,
    )


def test_edit_shows_before_and_after_can_be_undone_and_survives_a_reload(
    page, screenshot, reload_page
):
    source = page.evaluate("window.ffedit.viewer.loaded.faceId")
    page.locator('#palette button[data-class-id="1"]').click()
    page.locator("#tool-size").fill("4")
    _stroke(page, 0.45)
    _stroke(page, 0.55)
    page.get_by_role("button", name="Edit", exact=True).click()
    result = page.locator("#edit-result")
    result.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#edit-result img')]"
        ".every(img => img.complete && img.naturalWidth > 0)",
        timeout=TIMEOUT_MS,
    )
    outcome = page.locator("#edit-outcome").inner_text()
    assert re.fullmatch(
        r"\d+ of \d+ painted pixels? reached; \d+ pixels? changed elsewhere\.", outcome
    ), outcome
    assert page.locator("#edit-painted").is_visible() and page.locator("#edit-reached").is_visible()
    assert page.locator('#edit-result tr[data-role="before"] img').count() == 4
    assert page.locator('#edit-result tr[data-role="after"] img').count() == 4
    edited = page.evaluate("window.ffedit.state.get('faceId')")
    assert edited != source
    _wait_for_face(page, edited)
    assert f"edited from face {source}" in page.locator("#face-info").inner_text()
    assert (
        "Edit finished."
        in page.locator('#edit-progress [data-role="progress-status"]').inner_text()
    )
    assert page.locator("#job-list li").first.inner_text() == f"Edit of face {source} finished."

    orbit = page.locator('#edit-result tr[data-role="after"] img').last
    before = orbit.get_attribute("src")
    page.locator("#edit-orbit").click()
    page.wait_for_function(
        "src => document.querySelectorAll('#edit-result tr[data-role=\"after\"] img')[3]"
        ".getAttribute('src') !== src",
        arg=before,
        timeout=TIMEOUT_MS,
    )
    page.locator("#edit-orbit").click()
    screenshot(page, "edit")

    page.get_by_role("button", name="Undo the edit").click()
    _wait_for_face(page, source)
    page.get_by_role("button", name="Continue from the result").click()
    _wait_for_face(page, edited)

    job_id = page.locator("#job-list li").first.get_attribute("data-job-id")
    reload_page(page)
    _wait_for_face(page, edited)
    row = page.locator(f'#job-list li[data-job-id="{job_id}"]')
    row.wait_for(timeout=TIMEOUT_MS)
    assert row.get_attribute("data-status") == "succeeded"


def test_download_is_a_zip_with_the_expected_files(page):
    with page.expect_download(timeout=TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="Download ZIP").click()
    path = download_info.value.path()
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        layout = archive.read("layout.json")
    views = {
        f"views/{view}{suffix}.png"
        for view in ("front", "left", "right")
        for suffix in ("", "-mask", "-overlay")
    }
    assert views | {"ws.npy", "layout.json", "face.json"} <= names
    assert any(re.fullmatch(r"[\w-]+\.(mp4|gif)", name) for name in names), names
    assert b"skin" in layout
    assert "Downloaded face-" in page.locator("#download-status").inner_text()
    status = page.locator('#download-progress [data-role="progress-status"]')
    assert status.inner_text() == "ZIP export finished."


def test_a_bad_latent_upload_shows_its_error_next_to_the_control(page, console_messages):
    page.locator("#face-latent").set_input_files(
        files=[{"name": "latent.npy", "mimeType": "application/octet-stream", "buffer": b"nope"}]
    )
    error = page.locator("#face-error")
    error.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert error.inner_text() == "The latent is not a .npy file (checked by content)."
    _take_refusal(console_messages, "/api/v1/faces")
    good = io.BytesIO()
    z_dim = page.evaluate("window.ffedit.state.get('model').z_dim")
    np.save(good, np.zeros(z_dim, dtype=np.float32))
    page.locator("#face-latent").set_input_files(
        files=[{"name": "z.npy", "mimeType": "application/octet-stream", "buffer": good.getvalue()}]
    )
    page.wait_for_function(
        "() => document.getElementById('face-info').textContent.includes('z.npy')",
        timeout=TIMEOUT_MS,
    )
    assert error.is_hidden()


def test_dragging_the_yaw_slider_ends_on_its_last_position(page):
    """One preview in flight at a time while dragging (never a queue of stale ones); on
    release it is aborted and the last position is shown, from one view request."""
    page.evaluate(
        """() => {
          const original = window.fetch;
          window.requests = [];
          window.fetch = (url, init) => {
            window.requests.push({ url: String(url), signal: init?.signal });
            return original(url, init);
          };
          const slider = document.getElementById('view-yaw');
          for (const degrees of [-40, -30, -20, -10, 0, 10, 20, 30]) {
            slider.value = String(degrees);
            slider.dispatchEvent(new Event('input'));
          }
          slider.value = '25';
          slider.dispatchEvent(new Event('change'));
        }"""
    )
    page.wait_for_function(
        "Math.round((window.ffedit.viewer.loaded?.view?.yaw ?? 0) * 180 / Math.PI) === 25",
        timeout=TIMEOUT_MS,
    )
    assert page.locator("#view-yaw-value").inner_text() == "25°"
    paths = page.evaluate("window.requests.map(r => new URL(r.url, location.href).pathname)")
    assert sum(path.endswith("/render") for path in paths) == 1, paths
    assert sum(path.endswith("/view") for path in paths) == 1, paths
    assert page.evaluate("window.requests[0].signal.aborted")
    assert page.locator("#view-error").is_hidden()


def test_named_views_move_the_sliders_which_keep_their_width(page):
    """A named view's button sets the yaw and pitch sliders and their readouts to its angles
    (the server's), and a readout that changes does not change its slider's width."""
    from ffedit.camera import NAMED_VIEWS

    yaw, pitch = page.locator("#view-yaw"), page.locator("#view-pitch")
    width = yaw.bounding_box()["width"]
    for name, (view_yaw, view_pitch) in NAMED_VIEWS.items():
        page.locator(f'#view-named button[data-view="{name}"]').click()
        page.wait_for_function(
            "name => window.ffedit.viewer.loaded?.view?.view === name", arg=name, timeout=TIMEOUT_MS
        )
        degrees = (
            round(math.degrees(view_yaw - math.pi / 2)),
            round(math.degrees(view_pitch - math.pi / 2)),
        )
        assert (int(yaw.input_value()), int(pitch.input_value())) == degrees, name
        assert page.locator("#view-yaw-value").inner_text() == f"{degrees[0]}°"
        assert page.locator("#view-pitch-value").inner_text() == f"{degrees[1]}°"
        assert yaw.bounding_box()["width"] == width, name
        pressed = page.locator('#view-named button[aria-pressed="true"]')
        assert pressed.get_attribute("data-view") == name
    assert page.locator("#view-yaw-value").inner_text() != "0°", "no named view but the front?"


def test_the_page_has_an_icon(browser, login_url):
    """The page names its icon (no /favicon.ico 404 on every load), and it loads."""
    context = browser.new_context()
    page = context.new_page()
    answers: list[tuple[int, str]] = []
    page.on("response", lambda answer: answers.append((answer.status, answer.url)))
    page.goto(login_url, wait_until="load")
    page.wait_for_function("window.ffedit?.viewer?.loaded != null", timeout=TIMEOUT_MS)
    loads = page.evaluate(
        """() => new Promise(resolve => {
          const image = new Image();
          image.onload = () => resolve(image.naturalWidth > 0);
          image.onerror = () => resolve(false);
          image.src = document.querySelector('link[rel="icon"]').href;
        })"""
    )
    context.close()
    assert loads
    failed = [(status, url) for status, url in answers if status >= 400]
    assert failed == [], failed


def test_a_narrow_page_shows_the_canvas_first_then_the_paint_tools(page):
    """At ≤ 900 px one column: the canvas above every panel shown, the paint panel right
    under it (above the edit panel), in the DOM's order so the keyboard goes the same way."""
    page.set_viewport_size({"width": 800, "height": 1000})
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('main .panel:not([hidden])')].map(panel => {
          const box = panel.getBoundingClientRect();
          return {title: panel.querySelector('h2').id, top: box.top, bottom: box.bottom};
        })"""
    )
    titles = [box["title"] for box in boxes]
    assert titles[:3] == ["canvas-title", "tools-title", "edit-title"], titles
    tops = [box["top"] for box in boxes]
    assert tops == sorted(tops), boxes
    canvas = page.locator("#mask-canvas").bounding_box()
    assert all(canvas["y"] + canvas["height"] <= box["top"] for box in boxes[1:]), boxes
    page.locator("#mask-canvas").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.panel').querySelector('h2').id") == (
        "tools-title"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
