// The mask canvas wired to a minimal fake DOM: pointer input → labels, undo/redo,
// eraser, protect, fill, zoom/pan coordinate mapping and frame batching. (Pixels on
// screen are a browser test's job; this checks the logic between events and labels.)
import assert from "node:assert/strict";
import test from "node:test";

import { MaskCanvas } from "../../frontend/src/canvas/maskCanvas.js";
import { LabelBuffer } from "../../frontend/src/mask/labelBuffer.js";

const PALETTE = [
  [0, 0, 0],
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
];
const BOX = { left: 10, top: 20 }; // where the canvas sits on the page (CSS px)
const SIZE = 50; // mask pixels; the 200×200 canvas fits it at 4 device px per mask px

/** A 2D context that records what is drawn. */
class FakeContext {
  constructor() {
    this.calls = [];
    this.imageSmoothingEnabled = true;
    this.globalAlpha = 1;
  }
  putImageData(image, x, y) {
    this.calls.push({ op: "putImageData", x, y, width: image.width, height: image.height });
  }
  drawImage(source) {
    this.calls.push({ op: "drawImage", source, smoothing: this.imageSmoothingEnabled, alpha: this.globalAlpha });
  }
  clearRect(x, y, width, height) {
    this.calls.push({ op: "clearRect", x, y, width, height });
  }
  save() {}
  restore() {}
  beginPath() {}
  rect() {}
  clip() {}
  setTransform() {}
  arc() {}
  stroke() {}
}

class FakeCanvas extends EventTarget {
  constructor() {
    super();
    this.width = 300;
    this.height = 150;
    this.clientWidth = 200;
    this.clientHeight = 200;
    this.style = {};
    this.context = new FakeContext();
    this.captured = new Set();
  }
  getContext() {
    return this.context;
  }
  getBoundingClientRect() {
    return { ...BOX, width: this.clientWidth, height: this.clientHeight };
  }
  setPointerCapture(id) {
    this.captured.add(id);
  }
  hasPointerCapture(id) {
    return this.captured.has(id);
  }
  releasePointerCapture(id) {
    this.captured.delete(id);
  }
}

let frames = [];
globalThis.requestAnimationFrame = (callback) => frames.push(callback);
globalThis.cancelAnimationFrame = () => {};
globalThis.devicePixelRatio = 1;
globalThis.ImageData = class {
  constructor(data, width, height) {
    Object.assign(this, { data, width, height });
  }
};
globalThis.OffscreenCanvas = class {
  constructor(width, height) {
    Object.assign(this, { width, height, context: new FakeContext() });
  }
  getContext() {
    return this.context;
  }
};

function runFrames() {
  const pending = frames;
  frames = [];
  for (const callback of pending) callback();
  return pending.length;
}

/** A canvas showing a SIZE×SIZE mask of `labels` (zeros when omitted). */
function setup(labels = new LabelBuffer(SIZE, SIZE)) {
  frames = [];
  const element = new FakeCanvas();
  const canvas = new MaskCanvas(element);
  canvas.setPalette(PALETTE);
  canvas.setLabels(labels);
  runFrames();
  const changes = [];
  const errors = [];
  canvas.onChange((event) => changes.push(event));
  canvas.onError((message) => errors.push(message));
  return { element, canvas, changes, errors };
}

/** Client coordinates of the centre of mask pixel (x, y) at the fitted view. */
function client(x, y) {
  return [BOX.left + 4 * x + 2, BOX.top + 4 * y + 2];
}

function pointer(element, type, [clientX, clientY], extra = {}) {
  const event = new Event(type, { cancelable: true });
  Object.assign(event, { clientX, clientY, button: 0, pointerId: 1, shiftKey: false, ...extra });
  element.dispatchEvent(event);
}

function drag(element, points, extra = {}) {
  pointer(element, "pointerdown", points[0], extra);
  for (const point of points.slice(1)) pointer(element, "pointermove", point, extra);
  pointer(element, "pointerup", points.at(-1), extra);
}

function painted(labels, cls) {
  const pixels = [];
  for (let y = 0; y < labels.height; y++) {
    for (let x = 0; x < labels.width; x++) if (labels.get(x, y) === cls) pixels.push(`${x},${y}`);
  }
  return pixels;
}

test("a drag paints a gap-free path of the chosen class, as one undo step", () => {
  const { element, canvas, changes } = setup();
  assert.equal(element.width, 200); // backing store follows the CSS size
  canvas.setClass(3);
  canvas.setBrushSize(0);
  drag(element, [client(5, 5), client(9, 5), client(9, 8)]);
  const expected = ["5,5", "6,5", "7,5", "8,5", "9,5", "9,6", "9,7", "9,8"];
  assert.deepEqual(painted(canvas.getLabels(), 3), expected);
  assert.deepEqual(changes, [{ reason: "edit", canUndo: true, canRedo: false }]);

  assert.equal(canvas.undo(), true);
  assert.deepEqual(painted(canvas.getLabels(), 3), []);
  assert.equal(canvas.undo(), false);
  assert.equal(canvas.redo(), true);
  assert.deepEqual(painted(canvas.getLabels(), 3), expected);
  assert.deepEqual(
    changes.map((c) => c.reason),
    ["edit", "undo", "redo"],
  );
});

test("a stroke is drawn once per frame, recolouring only its dirty rectangle", () => {
  const { element, canvas } = setup();
  canvas.setClass(1);
  canvas.setBrushSize(1);
  const layer = element.context.calls.find((c) => c.op === "drawImage" && c.source instanceof OffscreenCanvas).source;
  layer.context.calls.length = 0;
  element.context.calls.length = 0;
  drag(element, [client(10, 10), client(12, 11), client(14, 12), client(20, 12)]);
  assert.equal(runFrames(), 1);
  const uploads = layer.context.calls.filter((c) => c.op === "putImageData");
  assert.deepEqual(uploads, [{ op: "putImageData", x: 9, y: 9, width: 13, height: 5 }]);
  const maskDraw = element.context.calls.find((c) => c.op === "drawImage" && c.source === layer);
  assert.equal(maskDraw.smoothing, false);
  const cleared = element.context.calls.find((c) => c.op === "clearRect");
  assert.ok(cleared.width < 200 && cleared.height < 200, "only part of the display is repainted");
});

test("the eraser paints the prediction back, and says so when there is none", () => {
  const prediction = new LabelBuffer(SIZE, SIZE);
  prediction.fill(2);
  const { element, canvas, errors } = setup(prediction);
  canvas.setClass(1);
  canvas.setBrushSize(2);
  drag(element, [client(20, 20), client(30, 20)]);
  canvas.setTool("eraser");
  drag(element, [client(20, 20), client(30, 20)]);
  assert.deepEqual(errors, ["There is no prediction for this view to erase back to."]);
  assert.ok(painted(canvas.getLabels(), 1).length > 40);

  canvas.setPrediction(prediction);
  canvas.setBrushSize(3);
  drag(element, [client(20, 20), client(30, 20)]);
  assert.ok(canvas.getLabels().equals(prediction));
});

test("protect mode keeps other classes when a stroke starts on background", () => {
  const labels = new LabelBuffer(SIZE, SIZE);
  for (let y = 0; y < SIZE; y++) for (let x = 25; x < SIZE; x++) labels.set(x, y, 2);
  const { element, canvas } = setup(labels);
  canvas.setClass(1);
  canvas.setBrushSize(2);
  canvas.setProtect("stroke-start");
  drag(element, [client(10, 10), client(40, 10)]);
  const result = canvas.getLabels();
  assert.equal(result.get(24, 10), 1);
  assert.equal(result.get(25, 10), 2);
  assert.equal(result.countPerClass()[2], 25 * SIZE);
});

test("fill changes the clicked region; reset goes back to the prediction", () => {
  const labels = new LabelBuffer(SIZE, SIZE);
  for (let x = 0; x < SIZE; x++) labels.set(x, 30, 1);
  const { element, canvas, changes } = setup(labels);
  canvas.setPrediction(labels);
  canvas.setTool("fill");
  canvas.setClass(3);
  pointer(element, "pointerdown", client(5, 5));
  pointer(element, "pointerup", client(5, 5));
  assert.equal(canvas.getLabels().countPerClass()[3], 30 * SIZE);
  assert.equal(changes.at(-1).reason, "edit");
  canvas.reset();
  assert.ok(canvas.getLabels().equals(labels));
  assert.equal(canvas.canUndo, false);
  canvas.setPrediction(new LabelBuffer(SIZE + 1, SIZE));
  assert.throws(() => canvas.reset(), /no prediction/);
});

test("wheel zoom keeps the mask pixel under the pointer in place", () => {
  const { element, canvas } = setup();
  canvas.setClass(1);
  canvas.setBrushSize(0);
  const wheel = new Event("wheel", { cancelable: true });
  const [cx, cy] = client(10, 10);
  Object.assign(wheel, { clientX: cx, clientY: cy, deltaY: -500, deltaMode: 0 });
  element.dispatchEvent(wheel);
  assert.ok(wheel.defaultPrevented);
  drag(element, [[cx, cy]]);
  drag(element, [[cx + 20, cy]]); // 20 device px right: fewer mask pixels away than before (4 px each)
  assert.deepEqual(painted(canvas.getLabels(), 1), ["10,10", "12,10"]);
});

test("shift-drag pans instead of painting", () => {
  const { element, canvas } = setup();
  canvas.setClass(1);
  canvas.setBrushSize(0);
  drag(element, [client(10, 10), client(20, 10)], { shiftKey: true });
  assert.deepEqual(painted(canvas.getLabels(), 1), []);
  drag(element, [client(20, 10)]); // the view moved 10 mask pixels right
  assert.deepEqual(painted(canvas.getLabels(), 1), ["10,10"]);
});
