/**
 * Label maps as exact class ids, and their conversion to colours.
 *
 * A `LabelBuffer` is a width×height grid of class ids stored row-major in a
 * `Uint8Array` (index = y * width + x). Masks are painted as these numbers and
 * only ever turned into colours for display, through a colour lookup built from
 * the palette the backend sends (an array of [r, g, b], entry i = class i). No
 * label names or colours live in the front end.
 *
 * Rectangles are `{ x, y, width, height }` in mask pixels; functions that
 * report "what changed" use them so the canvas can redraw only that part.
 */

/** Raised when a palette from the backend cannot be used as a colour lookup. */
export class InvalidPalette extends Error {
  constructor(message) {
    super(message);
    this.name = "InvalidPalette";
  }
}

/** A width×height grid of class ids (0..255), row-major. */
export class LabelBuffer {
  /**
   * @param {number} width
   * @param {number} height
   * @param {Uint8Array} [data] class ids, length width*height (taken, not copied);
   *   a zero-filled array when omitted.
   */
  constructor(width, height, data) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`label map size must be positive integers, got ${width}×${height}`);
    }
    const labels = data ?? new Uint8Array(width * height);
    if (!(labels instanceof Uint8Array) || labels.length !== width * height) {
      throw new RangeError(`label data must be a Uint8Array of ${width * height} values`);
    }
    this.width = width;
    this.height = height;
    this.data = labels;
  }

  /** True when (x, y) are integer coordinates inside the map. */
  contains(x, y) {
    return Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < this.width && y < this.height;
  }

  /** Row-major index of pixel (x, y). */
  indexOf(x, y) {
    return y * this.width + x;
  }

  /** Class id at (x, y); throws outside the map. */
  get(x, y) {
    this.#checkInside(x, y);
    return this.data[y * this.width + x];
  }

  /** Set the class id at (x, y); throws outside the map or for a non-byte id. */
  set(x, y, cls) {
    this.#checkInside(x, y);
    checkClassId(cls);
    this.data[y * this.width + x] = cls;
  }

  /** Every pixel to one class id. */
  fill(cls) {
    checkClassId(cls);
    this.data.fill(cls);
  }

  /** An independent copy. */
  copy() {
    return new LabelBuffer(this.width, this.height, this.data.slice());
  }

  /** Overwrite this map's ids with those of a map of the same size. */
  copyFrom(other) {
    checkSameSize(this, other);
    this.data.set(other.data);
  }

  /** True when both maps have the same size and the same id at every pixel. */
  equals(other) {
    if (!sameSize(this, other)) return false;
    const a = this.data;
    const b = other.data;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** Pixel count per class id: a `Uint32Array(256)` indexed by class id. */
  countPerClass() {
    const counts = new Uint32Array(256);
    for (const cls of this.data) counts[cls]++;
    return counts;
  }

  #checkInside(x, y) {
    if (!this.contains(x, y)) {
      throw new RangeError(`pixel (${x}, ${y}) is outside the ${this.width}×${this.height} label map`);
    }
  }
}

/** Throw unless `cls` is an integer class id 0..255. */
export function checkClassId(cls) {
  if (!Number.isInteger(cls) || cls < 0 || cls > 255) {
    throw new RangeError(`class id must be an integer 0..255, got ${cls}`);
  }
}

/** True when two label maps have the same width and height. */
export function sameSize(a, b) {
  return a.width === b.width && a.height === b.height;
}

/** Throw unless two label maps have the same width and height. */
export function checkSameSize(a, b) {
  if (!sameSize(a, b)) {
    throw new RangeError(`label maps differ in size: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  }
}

/** Row-major indices (ascending `Uint32Array`) of the pixels whose ids differ. */
export function changedIndices(before, after) {
  checkSameSize(before, after);
  const a = before.data;
  const b = after.data;
  let count = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) count++;
  const indices = new Uint32Array(count);
  let k = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) indices[k++] = i;
  return indices;
}

/** Smallest rectangle holding all given row-major indices of a map `width` wide; null if none. */
export function rectOfIndices(indices, width) {
  if (indices.length === 0) return null;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const i of indices) {
    const x = i % width;
    const y = (i - x) / width;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Smallest rectangle covering two rectangles (either may be null). */
export function unionRect(a, b) {
  if (!a) return b;
  if (!b) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return {
    x,
    y,
    width: Math.max(a.x + a.width, b.x + b.width) - x,
    height: Math.max(a.y + a.height, b.y + b.height) - y,
  };
}

/**
 * RGBA colour lookup for class ids: a `Uint8ClampedArray(256 * 4)`, entry
 * `cls * 4 .. cls * 4 + 3`. Classes with a palette entry are opaque; ids past the
 * end of the palette are transparent (alpha 0) so they show up as holes.
 *
 * @param {number[][]} palette [r, g, b] per class id, 1..256 entries of ints 0..255
 */
export function colourLookup(palette) {
  if (!Array.isArray(palette) || palette.length < 1 || palette.length > 256) {
    throw new InvalidPalette("a palette is a list of 1 to 256 [r, g, b] colours");
  }
  const lookup = new Uint8ClampedArray(256 * 4);
  palette.forEach((rgb, cls) => {
    const valid =
      Array.isArray(rgb) && rgb.length === 3 && rgb.every((v) => Number.isInteger(v) && v >= 0 && v <= 255);
    if (!valid) {
      throw new InvalidPalette(`palette colour of class ${cls} is not three integers 0..255: ${JSON.stringify(rgb)}`);
    }
    lookup.set([rgb[0], rgb[1], rgb[2], 255], cls * 4);
  });
  return lookup;
}

/**
 * RGBA pixels (`Uint8ClampedArray`, rect.width*rect.height*4, row-major) of the
 * labels inside `rect` (the whole map when omitted), coloured through `lookup`
 * (from `colourLookup`). Ready for `new ImageData(rgba, rect.width)`.
 */
export function rgbaFromLabels(labels, lookup, rect = fullRect(labels)) {
  checkRectInside(labels, rect);
  const rgba = new Uint8ClampedArray(rect.width * rect.height * 4);
  const lookupWords = new Uint32Array(lookup.buffer, lookup.byteOffset, 256);
  const rgbaWords = new Uint32Array(rgba.buffer);
  const ids = labels.data;
  for (let row = 0; row < rect.height; row++) {
    const src = (rect.y + row) * labels.width + rect.x;
    const dst = row * rect.width;
    for (let col = 0; col < rect.width; col++) rgbaWords[dst + col] = lookupWords[ids[src + col]];
  }
  return rgba;
}

/**
 * RGBA pixels of the labels blended over an image of the same size: per pixel
 * `(1 - opacity) * image + opacity * classColour`, opaque. Pixels whose class
 * has no palette entry show the image unchanged.
 *
 * @param {LabelBuffer} labels
 * @param {Uint8ClampedArray} lookup from `colourLookup`
 * @param {Uint8ClampedArray|Uint8Array} imageRgba width*height*4 RGBA (e.g. ImageData.data); alpha ignored
 * @param {number} opacity 0 (image only) .. 1 (labels only)
 */
export function overlayRgba(labels, lookup, imageRgba, opacity) {
  if (imageRgba.length !== labels.width * labels.height * 4) {
    throw new RangeError(`image must be ${labels.width}×${labels.height} RGBA to overlay these labels`);
  }
  if (!(opacity >= 0 && opacity <= 1)) throw new RangeError(`opacity must be in [0, 1], got ${opacity}`);
  const out = new Uint8ClampedArray(imageRgba.length);
  const ids = labels.data;
  for (let i = 0; i < ids.length; i++) {
    const c = ids[i] * 4;
    const p = i * 4;
    const a = lookup[c + 3] === 0 ? 0 : opacity;
    out[p] = imageRgba[p] + a * (lookup[c] - imageRgba[p]);
    out[p + 1] = imageRgba[p + 1] + a * (lookup[c + 1] - imageRgba[p + 1]);
    out[p + 2] = imageRgba[p + 2] + a * (lookup[c + 2] - imageRgba[p + 2]);
    out[p + 3] = 255;
  }
  return out;
}

/** The rectangle covering a whole label map. */
export function fullRect(labels) {
  return { x: 0, y: 0, width: labels.width, height: labels.height };
}

function checkRectInside(labels, rect) {
  const inside =
    Number.isInteger(rect.x) &&
    Number.isInteger(rect.y) &&
    rect.x >= 0 &&
    rect.y >= 0 &&
    rect.width >= 1 &&
    rect.height >= 1 &&
    rect.x + rect.width <= labels.width &&
    rect.y + rect.height <= labels.height;
  if (!inside) throw new RangeError(`rectangle ${JSON.stringify(rect)} is not inside the label map`);
}
