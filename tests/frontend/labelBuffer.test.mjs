// Label maps: access, copies, comparisons, diffs and colour conversion.
import assert from "node:assert/strict";
import test from "node:test";

import {
  InvalidPalette,
  LabelBuffer,
  changedIndices,
  colourLookup,
  overlayRgba,
  rectOfIndices,
  rgbaFromLabels,
  unionRect,
} from "../../frontend/src/mask/labelBuffer.js";

const PALETTE = [
  [0, 0, 0],
  [255, 0, 0],
  [0, 128, 255],
];

test("get and set address pixels row-major", () => {
  const labels = new LabelBuffer(4, 3);
  labels.set(3, 0, 7);
  labels.set(0, 2, 9);
  assert.equal(labels.get(3, 0), 7);
  assert.equal(labels.data[3], 7);
  assert.equal(labels.data[2 * 4 + 0], 9);
  assert.equal(labels.indexOf(1, 2), 9);
  assert.equal(labels.get(1, 1), 0);
});

test("out-of-range pixels, ids and sizes are refused", () => {
  const labels = new LabelBuffer(4, 3);
  assert.throws(() => labels.get(4, 0), RangeError);
  assert.throws(() => labels.set(0, -1, 1), RangeError);
  assert.throws(() => labels.set(0, 0, 256), RangeError);
  assert.throws(() => labels.set(0, 0, 1.5), RangeError);
  assert.throws(() => new LabelBuffer(0, 3), RangeError);
  assert.throws(() => new LabelBuffer(2, 2, new Uint8Array(5)), RangeError);
});

test("copy is independent and equal until changed", () => {
  const labels = new LabelBuffer(5, 2);
  labels.set(2, 1, 3);
  const twin = labels.copy();
  assert.ok(twin.equals(labels));
  twin.set(0, 0, 1);
  assert.equal(labels.get(0, 0), 0);
  assert.ok(!twin.equals(labels));
  labels.copyFrom(twin);
  assert.ok(twin.equals(labels));
});

test("maps of different shape are never equal, even with the same pixel count", () => {
  assert.ok(!new LabelBuffer(2, 3).equals(new LabelBuffer(3, 2)));
  assert.throws(() => new LabelBuffer(2, 3).copyFrom(new LabelBuffer(3, 2)), RangeError);
});

test("countPerClass counts every pixel once", () => {
  const labels = new LabelBuffer(3, 3, Uint8Array.from([0, 1, 1, 2, 2, 2, 255, 0, 0]));
  const counts = labels.countPerClass();
  assert.equal(counts[0], 3);
  assert.equal(counts[1], 2);
  assert.equal(counts[2], 3);
  assert.equal(counts[255], 1);
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    9,
  );
});

test("changedIndices lists exactly the differing pixels, ascending", () => {
  const before = new LabelBuffer(4, 4);
  const after = before.copy();
  after.set(3, 0, 1);
  after.set(0, 2, 2);
  after.set(2, 3, 1);
  assert.deepEqual([...changedIndices(before, after)], [3, 8, 14]);
  assert.deepEqual([...changedIndices(before, before.copy())], []);
});

test("rectOfIndices and unionRect bound the changed pixels", () => {
  assert.deepEqual(rectOfIndices(Uint32Array.from([3, 8, 14]), 4), { x: 0, y: 0, width: 4, height: 4 });
  assert.deepEqual(rectOfIndices(Uint32Array.from([5, 6, 10]), 4), { x: 1, y: 1, width: 2, height: 2 });
  assert.equal(rectOfIndices(new Uint32Array(0), 4), null);
  const a = { x: 1, y: 1, width: 2, height: 2 };
  assert.deepEqual(unionRect(a, { x: 5, y: 0, width: 1, height: 1 }), { x: 1, y: 0, width: 5, height: 3 });
  assert.equal(unionRect(null, a), a);
});

test("rgbaFromLabels colours each pixel through the palette", () => {
  const labels = new LabelBuffer(3, 1, Uint8Array.from([2, 0, 1]));
  const rgba = rgbaFromLabels(labels, colourLookup(PALETTE));
  assert.deepEqual([...rgba], [0, 128, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255]);
});

test("rgbaFromLabels of a rectangle covers only that rectangle", () => {
  const labels = new LabelBuffer(4, 3);
  labels.set(2, 1, 1);
  labels.set(3, 2, 2);
  const rgba = rgbaFromLabels(labels, colourLookup(PALETTE), { x: 2, y: 1, width: 2, height: 2 });
  assert.equal(rgba.length, 2 * 2 * 4);
  assert.deepEqual([...rgba.subarray(0, 4)], [255, 0, 0, 255]); // (2, 1)
  assert.deepEqual([...rgba.subarray(4, 8)], [0, 0, 0, 255]); // (3, 1)
  assert.deepEqual([...rgba.subarray(12, 16)], [0, 128, 255, 255]); // (3, 2)
  assert.throws(() => rgbaFromLabels(labels, colourLookup(PALETTE), { x: 3, y: 0, width: 2, height: 1 }), RangeError);
});

test("classes without a palette entry are transparent", () => {
  const labels = new LabelBuffer(2, 1, Uint8Array.from([1, 5]));
  const rgba = rgbaFromLabels(labels, colourLookup(PALETTE));
  assert.equal(rgba[3], 255);
  assert.equal(rgba[7], 0);
});

test("colourLookup rejects malformed palettes", () => {
  assert.throws(() => colourLookup([]), InvalidPalette);
  assert.throws(() => colourLookup([[0, 0]]), InvalidPalette);
  assert.throws(() => colourLookup([[0, 0, 256]]), InvalidPalette);
  assert.throws(() => colourLookup(new Array(257).fill([0, 0, 0])), InvalidPalette);
});

test("overlayRgba blends class colours over the image by opacity", () => {
  const labels = new LabelBuffer(2, 1, Uint8Array.from([1, 9]));
  const image = Uint8ClampedArray.from([100, 100, 100, 7, 10, 20, 30, 255]);
  const lookup = colourLookup(PALETTE);
  const half = overlayRgba(labels, lookup, image, 0.5);
  assert.deepEqual([...half.subarray(0, 4)], [178, 50, 50, 255]); // (100 + 255) / 2 = 177.5 → 178
  assert.deepEqual([...half.subarray(4, 8)], [10, 20, 30, 255]); // class 9 has no colour: image shows
  assert.deepEqual([...overlayRgba(labels, lookup, image, 0).subarray(0, 3)], [100, 100, 100]);
  assert.deepEqual([...overlayRgba(labels, lookup, image, 1).subarray(0, 3)], [255, 0, 0]);
  assert.throws(() => overlayRgba(labels, lookup, image, 1.5), RangeError);
  assert.throws(() => overlayRgba(labels, lookup, new Uint8ClampedArray(4), 0.5), RangeError);
});
