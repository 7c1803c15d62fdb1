"""The canvas in the real page: a stroke changes exactly the expected label pixels, undo and
redo (buttons and keyboard), flood fill, and stroke frame times."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

LABELS_JS = "Array.from(window.ffedit.canvas.getLabels().data)"


def _labels(page) -> list[int]:
    return page.evaluate(LABELS_JS)


def _geometry(page) -> dict:
    """Where the mask lies on the screen: canvas box, mask size, CSS pixels per mask pixel."""
    return page.evaluate(
        """() => {
          const canvas = document.getElementById('mask-canvas');
          const box = canvas.getBoundingClientRect();
          const labels = window.ffedit.canvas.getLabels();
          const ratio = window.devicePixelRatio || 1;
          const fit = Math.min(canvas.width / labels.width, canvas.height / labels.height);
          const scale = (fit >= 1 ? Math.floor(fit) : fit) / ratio;
          return {left: box.left + (box.width - labels.width * scale) / 2,
                  top: box.top + (box.height - labels.height * scale) / 2,
                  scale, size: labels.width};
        }"""
    )


def _screen(geometry: dict, x: float, y: float) -> tuple[float, float]:
    """Screen point at the centre of mask pixel (x, y)."""
    scale = geometry["scale"]
    return geometry["left"] + (x + 0.5) * scale, geometry["top"] + (y + 0.5) * scale


def _component(labels: list[int], size: int, x: int, y: int) -> set[int]:
    """Indices of the 4-connected region of (x, y)'s class."""
    cls = labels[y * size + x]
    region, todo = set(), [(x, y)]
    while todo:
        px, py = todo.pop()
        index = py * size + px
        if not (0 <= px < size and 0 <= py < size) or index in region or labels[index] != cls:
            continue
        region.add(index)
        todo += [(px + 1, py), (px - 1, py), (px, py + 1), (px, py - 1)]
    return region


def _pick_class(page, class_id: int) -> None:
    page.locator(f'#palette button[data-class-id="{class_id}"]').click()


def test_a_stroke_changes_exactly_the_expected_pixels_and_undo_redo(page, screenshot):
    before = _labels(page)
    geometry = _geometry(page)
    size = geometry["size"]
    painted = max(set(range(len(page.locator("#palette button").all()))) - set(before))
    _pick_class(page, painted)
    page.locator("#tool-size").fill("1")
    row, start, end = size // 2, 4, size - 5
    page.mouse.move(*_screen(geometry, start, row))
    page.mouse.down()
    page.mouse.move(*_screen(geometry, end, row), steps=12)
    page.mouse.up()
    after = _labels(page)
    # Radius 1 along a row: the row from start-1 to end+1, and the rows above and below
    # from start to end (the disc's 5-pixel cross swept along the line).
    expected = set()
    for x in range(start, end + 1):
        expected |= {(x, row), (x, row - 1), (x, row + 1), (x - 1, row), (x + 1, row)}
    expected = {y * size + x for x, y in expected}
    changed = {i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b}
    assert changed == {i for i in expected if before[i] != painted}
    assert all(after[i] == painted for i in expected)
    assert page.locator("#tool-undo").is_enabled()

    page.locator("#tool-undo").click()
    assert _labels(page) == before
    page.locator("#tool-redo").click()
    assert _labels(page) == after
    page.locator("#mask-canvas").focus()
    page.keyboard.press("Control+z")
    assert _labels(page) == before
    page.keyboard.press("Control+Shift+z")
    assert _labels(page) == after
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+y")
    assert _labels(page) == after

    # The eraser paints the prediction back along the same line.
    page.locator('input[name="tool"][value="eraser"]').check()
    page.mouse.move(*_screen(geometry, start, row))
    page.mouse.down()
    page.mouse.move(*_screen(geometry, end, row), steps=12)
    page.mouse.up()
    assert _labels(page) == before
    screenshot(page, "stroke")


def test_flood_fill_fills_the_connected_region_only(page):
    geometry = _geometry(page)
    size = geometry["size"]
    page.locator('input[name="tool"][value="brush"]').check()
    page.locator("#tool-size").fill("0")
    _pick_class(page, 1)
    # A closed square outline of class 1, then fill its inside with class 2.
    corners = [(8, 8), (20, 8), (20, 20), (8, 20), (8, 8)]
    page.mouse.move(*_screen(geometry, *corners[0]))
    page.mouse.down()
    for corner in corners[1:]:
        page.mouse.move(*_screen(geometry, *corner), steps=6)
    page.mouse.up()
    outlined = _labels(page)
    page.locator('input[name="tool"][value="fill"]').check()
    _pick_class(page, 2)
    page.mouse.click(*_screen(geometry, 14, 14))
    filled = _labels(page)
    region = _component(outlined, size, 14, 14)
    inside = {y * size + x for y in range(9, 20) for x in range(9, 20)}
    assert region <= inside
    changed = {i for i, (a, b) in enumerate(zip(outlined, filled, strict=True)) if a != b}
    assert changed == (region if outlined[14 * size + 14] != 2 else set())
    assert all(filled[i] == 2 for i in region)
    page.keyboard.press("Control+z")
    assert _labels(page) == outlined


def test_stroke_frame_times(page, record_property):
    """A stroke across the canvas is drawn at display rate: rAF deltas during the stroke."""
    geometry = _geometry(page)
    size = geometry["size"]
    page.locator("#tool-size").fill("3")
    page.evaluate(
        """() => {
          window.frameTimes = [];
          let last = performance.now();
          const tick = (now) => {
            window.frameTimes.push(now - last);
            last = now;
            if (window.recordFrames) requestAnimationFrame(tick);
          };
          window.recordFrames = true;
          requestAnimationFrame(tick);
        }"""
    )
    page.mouse.move(*_screen(geometry, 1, 1))
    page.mouse.down()
    for i in range(2):
        page.mouse.move(*_screen(geometry, size - 2, size - 2 - i), steps=60)
        page.mouse.move(*_screen(geometry, 1, 2 + i), steps=60)
    page.mouse.up()
    times = page.evaluate("() => { window.recordFrames = false; return window.frameTimes; }")
    deltas = sorted(times[2:])
    median = deltas[len(deltas) // 2]
    p95 = deltas[int(len(deltas) * 0.95)]
    figures = {"frames": len(deltas), "median_ms": median, "p95_ms": p95, "max_ms": deltas[-1]}
    record_property("stroke_frame_times", json.dumps(figures))
    print(f"stroke frame times: {json.dumps(figures)}")
    assert len(deltas) > 10
    assert median < 50, figures
