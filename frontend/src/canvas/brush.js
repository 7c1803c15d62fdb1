/**
 * Brush math on label maps: disc stamps, gap-free strokes, flood fill.
 *
 * Everything here writes exact class ids into a `LabelBuffer`; nothing is
 * anti-aliased. A `Brush` says what a stamp writes: a class id (`Brush.paint`)
 * or, for the eraser, the id of the same pixel in another map, the prediction
 * (`Brush.erase`). `brush.protecting(classIds)` limits it to pixels whose
 * current class is one of `classIds` ("protect other classes").
 *
 * A stamp of radius r at a (float) position covers the pixels (x, y) with
 * (x - cx)² + (y - cy)² ≤ r², where (cx, cy) is the pixel holding the position
 * (so r = 0 is one pixel, r = 1 five, r = 2 thirteen). A stroke stamps at every
 * pixel of the digital line between its two end pixels, one pixel apart along
 * the major axis, so it leaves no gaps however fast the pointer moved.
 *
 * Paint functions return `{ changed, rect }`: how many pixels changed and the
 * rectangle ({x, y, width, height}) holding them (null when none), for a cheap redraw.
 */

import { LabelBuffer, checkClassId, checkSameSize } from "../mask/labelBuffer.js";

/** What a stamp writes, and where it may write. Immutable; build with `Brush.paint` / `Brush.erase`. */
export class Brush {
  /**
   * @param {number} radius integer ≥ 0
   * @param {number} cls class id written (ignored when `source` is given)
   * @param {LabelBuffer|null} source map whose ids are written back (eraser), or null
   * @param {Uint8Array|null} allowed 256 flags: 1 = pixels of that class may change; null = all may
   */
  constructor(radius, cls, source, allowed) {
    if (!Number.isInteger(radius) || radius < 0 || radius > 1024) {
      throw new RangeError(`brush radius must be an integer 0..1024, got ${radius}`);
    }
    checkClassId(cls);
    this.radius = radius;
    this.cls = cls;
    this.source = source;
    this.allowed = allowed;
    this.offsets = discOffsets(radius);
    Object.freeze(this);
  }

  /** A brush writing class `cls`. */
  static paint(radius, cls) {
    return new Brush(radius, cls, null, null);
  }

  /** An eraser: writes back the ids of `prediction` (a map of the painted map's size). */
  static erase(radius, prediction) {
    if (!(prediction instanceof LabelBuffer)) throw new TypeError("the eraser needs the prediction label map");
    return new Brush(radius, 0, prediction, null);
  }

  /** The same brush, changing only pixels whose current class is in `classIds`. */
  protecting(classIds) {
    return new Brush(this.radius, this.cls, this.source, classFlags(classIds));
  }
}

/** 256 flags, 1 for each class id in `classIds`. */
export function classFlags(classIds) {
  const flags = new Uint8Array(256);
  for (const cls of classIds) {
    checkClassId(cls);
    flags[cls] = 1;
  }
  return flags;
}

/** Offsets [dx, dy] of the pixels of a disc of integer radius r: dx² + dy² ≤ r². */
export function discOffsets(radius) {
  const offsets = [];
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      if (dx * dx + dy * dy <= radius * radius) offsets.push([dx, dy]);
    }
  }
  return offsets;
}

/** Stamp the brush once at position (x, y) (mask pixels, floats allowed). */
export function stampDisc(labels, brush, x, y) {
  const tracker = new ChangeTracker(labels.width);
  stampAt(labels, brush, Math.floor(x), Math.floor(y), tracker);
  return tracker.result();
}

/**
 * Stamp the brush along the segment (x0, y0) → (x1, y1) (mask pixels, floats
 * allowed), at every pixel of the digital line between the two end pixels.
 */
export function strokeSegment(labels, brush, x0, y0, x1, y1) {
  const tracker = new ChangeTracker(labels.width);
  for (const [x, y] of linePixels(Math.floor(x0), Math.floor(y0), Math.floor(x1), Math.floor(y1))) {
    stampAt(labels, brush, x, y, tracker);
  }
  return tracker.result();
}

/**
 * Pixels [x, y] of the digital line from (x0, y0) to (x1, y1), integer ends
 * included: n + 1 pixels for n = max(|dx|, |dy|), consecutive ones 8-adjacent.
 */
export function linePixels(x0, y0, x1, y1) {
  const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0));
  const pixels = [[x0, y0]];
  for (let i = 1; i <= steps; i++) {
    const t = i / steps;
    pixels.push([Math.round(x0 + (x1 - x0) * t), Math.round(y0 + (y1 - y0) * t)]);
  }
  return pixels;
}

/**
 * Fill the 4-connected region of equal class around (x, y) with `cls`
 * (iterative, no recursion). Returns the row-major indices that changed
 * (`Uint32Array`, empty when (x, y) is outside the map or already `cls`).
 */
export function floodFill(labels, x, y, cls) {
  checkClassId(cls);
  x = Math.floor(x);
  y = Math.floor(y);
  const { width, height, data } = labels;
  if (x < 0 || y < 0 || x >= width || y >= height) return new Uint32Array(0);
  const target = data[y * width + x];
  if (target === cls) return new Uint32Array(0);
  const changed = [];
  const stack = new Int32Array(width * height); // each pixel is pushed at most once
  let top = 0;
  stack[top++] = y * width + x;
  data[y * width + x] = cls;
  while (top > 0) {
    const i = stack[--top];
    changed.push(i);
    const px = i % width;
    if (px > 0 && data[i - 1] === target) {
      data[i - 1] = cls;
      stack[top++] = i - 1;
    }
    if (px < width - 1 && data[i + 1] === target) {
      data[i + 1] = cls;
      stack[top++] = i + 1;
    }
    if (i >= width && data[i - width] === target) {
      data[i - width] = cls;
      stack[top++] = i - width;
    }
    if (i + width < data.length && data[i + width] === target) {
      data[i + width] = cls;
      stack[top++] = i + width;
    }
  }
  return Uint32Array.from(changed).sort();
}

/** Counts changed pixels and their bounding box. */
class ChangeTracker {
  constructor(width) {
    this.width = width;
    this.changed = 0;
    this.x0 = Infinity;
    this.y0 = Infinity;
    this.x1 = -Infinity;
    this.y1 = -Infinity;
  }

  add(x, y) {
    this.changed++;
    if (x < this.x0) this.x0 = x;
    if (x > this.x1) this.x1 = x;
    if (y < this.y0) this.y0 = y;
    if (y > this.y1) this.y1 = y;
  }

  result() {
    const rect =
      this.changed === 0 ? null : { x: this.x0, y: this.y0, width: this.x1 - this.x0 + 1, height: this.y1 - this.y0 + 1 };
    return { changed: this.changed, rect };
  }
}

/** One disc stamp centred on pixel (cx, cy), recording changes in `tracker`. */
function stampAt(labels, brush, cx, cy, tracker) {
  const { width, height, data } = labels;
  const source = brush.source;
  if (source) checkSameSize(labels, source);
  const allowed = brush.allowed;
  for (const [dx, dy] of brush.offsets) {
    const x = cx + dx;
    const y = cy + dy;
    if (x < 0 || y < 0 || x >= width || y >= height) continue;
    const i = y * width + x;
    const current = data[i];
    if (allowed && !allowed[current]) continue;
    const next = source ? source.data[i] : brush.cls;
    if (next !== current) {
      data[i] = next;
      tracker.add(x, y);
    }
  }
}
