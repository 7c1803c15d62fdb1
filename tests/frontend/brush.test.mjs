// Brush math: disc stamps, gap-free strokes, protect mode, eraser, flood fill.
import assert from "node:assert/strict";
import test from "node:test";

import {
  Brush,
  discOffsets,
  floodFill,
  linePixels,
  stampDisc,
  strokeSegment,
} from "../../frontend/src/canvas/brush.js";
import { LabelBuffer, changedIndices, rectOfIndices } from "../../frontend/src/mask/labelBuffer.js";
import { seededRandom } from "./pngBuilder.mjs";

/** Set of "x,y" strings of the pixels with class `cls`. */
function pixelsOf(labels, cls) {
  const set = new Set();
  for (let y = 0; y < labels.height; y++) {
    for (let x = 0; x < labels.width; x++) if (labels.get(x, y) === cls) set.add(`${x},${y}`);
  }
  return set;
}

function labelsFromRows(rows) {
  return new LabelBuffer(rows[0].length, rows.length, Uint8Array.from(rows.flat()));
}

/** Distance from point (px, py) to the segment (ax, ay)-(bx, by). */
function distanceToSegment(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

test("disc stamps cover the lattice points of a circle (Gauss circle counts)", () => {
  const expected = [1, 5, 13, 29, 49, 81, 113, 149];
  expected.forEach((count, radius) => {
    assert.equal(discOffsets(radius).length, count, `radius ${radius}`);
    const labels = new LabelBuffer(40, 40);
    const result = stampDisc(labels, Brush.paint(radius, 3), 20.5, 20.5);
    assert.equal(result.changed, count);
    assert.equal(labels.countPerClass()[3], count);
    assert.deepEqual(result.rect, { x: 20 - radius, y: 20 - radius, width: 2 * radius + 1, height: 2 * radius + 1 });
  });
});

test("a stamp at a float position centres on the pixel holding it", () => {
  const labels = new LabelBuffer(10, 10);
  stampDisc(labels, Brush.paint(1, 2), 4.99, 6.01);
  assert.deepEqual(pixelsOf(labels, 2), new Set(["4,6", "3,6", "5,6", "4,5", "4,7"]));
});

test("stamps are clipped at the border and report only real changes", () => {
  const labels = new LabelBuffer(10, 10);
  const corner = stampDisc(labels, Brush.paint(2, 1), 0.2, 0.7);
  assert.equal(corner.changed, 6); // (0,0) (1,0) (2,0) (0,1) (1,1) (0,2)
  assert.deepEqual(corner.rect, { x: 0, y: 0, width: 3, height: 3 });
  const again = stampDisc(labels, Brush.paint(2, 1), 0.2, 0.7);
  assert.deepEqual(again, { changed: 0, rect: null });
  const outside = stampDisc(labels, Brush.paint(2, 1), -50, 3);
  assert.equal(outside.changed, 0);
});

test("digital lines step one pixel at a time and hit both ends", () => {
  for (const [x0, y0, x1, y1] of [
    [0, 0, 10, 4],
    [3, 9, 3, 0],
    [0, 0, -7, -7],
    [5, 5, 5, 5],
    [2, 1, -9, 30],
  ]) {
    const line = linePixels(x0, y0, x1, y1);
    assert.equal(line.length, Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)) + 1);
    assert.deepEqual(line[0], [x0, y0]);
    assert.deepEqual(line.at(-1), [x1, y1]);
    for (let i = 1; i < line.length; i++) {
      const step = Math.max(Math.abs(line[i][0] - line[i - 1][0]), Math.abs(line[i][1] - line[i - 1][1]));
      assert.equal(step, 1, `gap between ${line[i - 1]} and ${line[i]}`);
    }
  }
});

test("a fast stroke covers the whole band around its segment, with no gaps", () => {
  for (const radius of [1, 2, 3, 6]) {
    const labels = new LabelBuffer(100, 70);
    const result = strokeSegment(labels, Brush.paint(radius, 1), 5.5, 7.2, 80.3, 51.9);
    const [ax, ay, bx, by] = [5, 7, 80, 51]; // the end pixels
    for (let y = 0; y < 70; y++) {
      for (let x = 0; x < 100; x++) {
        const d = distanceToSegment(x, y, ax, ay, bx, by);
        if (d <= radius - 1.5) assert.equal(labels.get(x, y), 1, `gap at (${x}, ${y}), radius ${radius}`);
        if (d > radius + 0.5) assert.equal(labels.get(x, y), 0, `paint too far at (${x}, ${y}), radius ${radius}`);
      }
    }
    assert.equal(result.changed, labels.countPerClass()[1]);
    assert.deepEqual(result.rect, rectOfIndices(changedIndices(new LabelBuffer(100, 70), labels), 100));
  }
});

test("a one-pixel stroke is an unbroken 8-connected path", () => {
  const labels = new LabelBuffer(50, 50);
  const result = strokeSegment(labels, Brush.paint(0, 1), 1.5, 2.5, 45.1, 20.9);
  assert.equal(result.changed, 45); // max(|45 - 1|, |20 - 2|) + 1
  const painted = pixelsOf(labels, 1);
  for (const key of painted) {
    const [x, y] = key.split(",").map(Number);
    if (x === 45) continue;
    const next = [`${x + 1},${y}`, `${x + 1},${y + 1}`, `${x + 1},${y - 1}`];
    assert.ok(
      next.some((k) => painted.has(k)),
      `path breaks after (${x}, ${y})`,
    );
  }
});

test("protect mode changes only pixels of the allowed classes", () => {
  const labels = new LabelBuffer(20, 10);
  for (let y = 0; y < 10; y++) for (let x = 10; x < 20; x++) labels.set(x, y, 2);
  labels.set(3, 5, 4);
  const before = labels.copy();
  const brush = Brush.paint(3, 1).protecting([0]);
  strokeSegment(labels, brush, 0, 5, 19, 5);
  for (const i of changedIndices(before, labels)) {
    assert.equal(before.data[i], 0, "a protected class changed");
    assert.equal(labels.data[i], 1);
  }
  assert.equal(labels.get(3, 5), 4);
  assert.equal(labels.get(15, 5), 2);
  assert.equal(labels.get(5, 5), 1);
  assert.ok(labels.countPerClass()[1] > 20);
});

test("protect mode can allow several classes", () => {
  const labels = labelsFromRows([[0, 1, 2, 3, 4]]);
  stampDisc(labels, Brush.paint(5, 9).protecting([1, 3]), 2, 0);
  assert.deepEqual([...labels.data], [0, 9, 2, 9, 4]);
});

test("the eraser paints the prediction back", () => {
  const random = seededRandom(5);
  const prediction = new LabelBuffer(30, 20);
  for (let i = 0; i < prediction.data.length; i++) prediction.data[i] = Math.floor(random() * 4);
  const labels = prediction.copy();
  strokeSegment(labels, Brush.paint(4, 7), 5, 10, 25, 10);
  assert.ok(labels.countPerClass()[7] > 100);
  const painted = labels.copy();

  const result = strokeSegment(labels, Brush.erase(6, prediction), 5, 10, 25, 10);
  assert.ok(labels.equals(prediction));
  assert.equal(result.changed, changedIndices(painted, prediction).length);
});

test("the eraser restores only inside its disc and respects protect mode", () => {
  const prediction = new LabelBuffer(9, 9);
  prediction.fill(2);
  const labels = new LabelBuffer(9, 9);
  labels.fill(5);
  labels.set(4, 3, 6);
  const result = stampDisc(labels, Brush.erase(1, prediction).protecting([5]), 4, 4);
  assert.equal(result.changed, 4); // (4,3) holds class 6: protected
  assert.equal(labels.get(4, 4), 2);
  assert.equal(labels.get(4, 3), 6);
  assert.equal(labels.get(6, 4), 5);
  assert.throws(() => stampDisc(labels, Brush.erase(1, new LabelBuffer(8, 9)), 4, 4), RangeError);
});

test("flood fill changes exactly the 4-connected region", () => {
  const labels = labelsFromRows([
    [0, 0, 1, 0, 0],
    [0, 0, 1, 0, 0],
    [1, 1, 1, 0, 0],
    [0, 0, 0, 0, 1],
  ]);
  const changed = floodFill(labels, 0.4, 1.6, 3);
  assert.deepEqual([...changed], [0, 1, 5, 6]);
  assert.deepEqual(
    [...labels.data],
    [3, 3, 1, 0, 0, 3, 3, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1],
  );
  // The other 0 region wraps around the 1s and reaches the bottom-left corner.
  assert.equal(floodFill(labels, 4, 0, 2).length, 10);
  assert.equal(labels.get(0, 3), 2);
  assert.equal(labels.get(4, 3), 1);
});

test("flood fill does not leak through diagonal gaps", () => {
  const labels = labelsFromRows([
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
  assert.deepEqual([...floodFill(labels, 2, 0, 5)], [1, 2, 5]);
  assert.deepEqual([...labels.data], [1, 5, 5, 0, 1, 5, 0, 0, 1]);
  assert.deepEqual([...floodFill(labels, 0, 0, 7)], [0]); // the diagonal 1s are not 4-connected
});

test("flood fill of the same class, or outside the map, changes nothing", () => {
  const labels = labelsFromRows([[1, 1, 0]]);
  assert.equal(floodFill(labels, 0, 0, 1).length, 0);
  assert.equal(floodFill(labels, 5, 0, 2).length, 0);
  assert.deepEqual([...labels.data], [1, 1, 0]);
});

test("flood fill handles large regions iteratively and agrees with a BFS reference", () => {
  const big = new LabelBuffer(512, 512);
  assert.equal(floodFill(big, 100, 100, 1).length, 512 * 512);

  const random = seededRandom(9);
  for (let trial = 0; trial < 5; trial++) {
    const labels = new LabelBuffer(41, 37);
    for (let i = 0; i < labels.data.length; i++) labels.data[i] = random() < 0.4 ? 1 : 0;
    const seed = Math.floor(random() * labels.data.length);
    const expected = bfsRegion(labels, seed);
    const changed = floodFill(labels, seed % 41, Math.floor(seed / 41), 9);
    assert.deepEqual([...changed], expected);
  }
});

/** Sorted indices of the 4-connected same-class region holding `seed` (a plain BFS). */
function bfsRegion(labels, seed) {
  const { width, height, data } = labels;
  const target = data[seed];
  const seen = new Set([seed]);
  const queue = [seed];
  while (queue.length > 0) {
    const i = queue.shift();
    const x = i % width;
    const y = Math.floor(i / width);
    for (const [nx, ny] of [
      [x - 1, y],
      [x + 1, y],
      [x, y - 1],
      [x, y + 1],
    ]) {
      const j = ny * width + nx;
      if (nx >= 0 && ny >= 0 && nx < width && ny < height && !seen.has(j) && data[j] === target) {
        seen.add(j);
        queue.push(j);
      }
    }
  }
  return [...seen].sort((a, b) => a - b);
}
