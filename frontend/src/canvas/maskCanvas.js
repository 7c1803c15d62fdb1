/**
 * The mask painting canvas: shows a label map over the face render and lets the
 * user paint it with brush, eraser and flood fill, with zoom, pan and undo.
 *
 * Labels live in a `LabelBuffer` at the model's mask resolution. They are
 * coloured through the palette's lookup into an offscreen layer of that size,
 * and the display canvas draws that layer scaled up with image smoothing off, so
 * every mask pixel is a crisp square. The RGB render (any resolution) is drawn
 * underneath, filling the same square, and the mask goes on top with the overlay
 * opacity.
 *
 * Pointer input paints into the label buffer at once (cheap), collecting a dirty
 * rectangle; drawing happens at most once per animation frame, recolours only
 * the dirty part of the offscreen layer and repaints only the matching part of
 * the display (plus the brush outline's old and new places). Zoom, pan, resize,
 * palette, image and opacity changes repaint everything.
 *
 * Controls: left button paints with the current tool; the wheel zooms about the
 * pointer; dragging with the middle button, or the left button with Shift held,
 * pans. Keyboard shortcuts belong to the page (`main.js`), which calls `undo()`,
 * `redo()`, `zoomIn()`, etc. A stroke is one undo step.
 *
 * Methods called by the page throw plain-sentence errors on misuse; problems
 * caused by pointer input (e.g. erasing with no prediction loaded) go to the
 * `onError` listeners instead, for the page to show next to the canvas.
 */

import { EditHistory } from "../mask/history.js";
import {
  LabelBuffer,
  checkClassId,
  colourLookup,
  fullRect,
  rectOfIndices,
  rgbaFromLabels,
  sameSize,
  unionRect,
} from "../mask/labelBuffer.js";
import { Brush, floodFill, stampDisc, strokeSegment } from "./brush.js";

/** Tool names accepted by `setTool`. */
export const TOOLS = Object.freeze(["brush", "eraser", "fill"]);

const ZOOM_STEP = 1.25;
/** Zoom limits relative to the scale that fits the whole mask in the canvas. */
const MIN_ZOOM = 0.5;
const MAX_ZOOM = 64;
const WHEEL_ZOOM_PER_PIXEL = 0.0015;
/** Wheel delta units (WheelEvent.deltaMode: pixels, lines, pages) in pixels. */
const WHEEL_UNIT_PIXELS = [1, 16, 400];
/** Brush outline: line width and the gap between its dark and light rings, in device pixels. */
const OUTLINE_WIDTH = 1.5;
const OUTLINE_GAP = 1.5;

/** A canvas element turned into a label painting surface. */
export class MaskCanvas {
  #canvas;
  #ctx;
  #events = new AbortController();
  #resizeObserver = null;
  #frame = 0;

  #labels = null;
  #prediction = null;
  #lookup = null;
  #layer = null;
  #layerCtx = null;
  #image = null;
  #opacity = 0.6;

  #tool = "brush";
  #radius = 2;
  #cls = 0;
  #protect = null;
  #history;

  #scale = 1;
  #offsetX = 0;
  #offsetY = 0;
  #fitted = true;

  #stroke = null; // { brush, x, y, pointerId } while painting
  #pan = null; // { x, y, pointerId } while panning
  #hover = null; // { x, y } in mask pixels, or null

  #dirtyLayer = null; // mask-pixel rect to recolour
  #dirtyDisplay = null; // device-pixel rect to repaint, or "all"

  #changeListeners = new Set();
  #errorListeners = new Set();

  /**
   * @param {HTMLCanvasElement} canvas the display canvas (sized by CSS; its pixel size follows)
   * @param {number} [historyBudgetBytes] memory for undo steps (default: EditHistory's)
   */
  constructor(canvas, historyBudgetBytes) {
    this.#canvas = canvas;
    this.#ctx = canvas.getContext("2d");
    this.#history = new EditHistory(historyBudgetBytes);
    canvas.style.touchAction = "none";
    const options = { signal: this.#events.signal };
    canvas.addEventListener("pointerdown", (e) => this.#onPointerDown(e), options);
    canvas.addEventListener("pointermove", (e) => this.#onPointerMove(e), options);
    canvas.addEventListener("pointerup", (e) => this.#onPointerEnd(e), options);
    canvas.addEventListener("pointercancel", (e) => this.#onPointerEnd(e), options);
    canvas.addEventListener("lostpointercapture", (e) => this.#onPointerEnd(e), options);
    canvas.addEventListener("pointerleave", () => this.#setHover(null), options);
    canvas.addEventListener("wheel", (e) => this.#onWheel(e), { ...options, passive: false });
    // No middle-button autoscroll: that button pans.
    canvas.addEventListener("mousedown", (e) => e.button === 1 && e.preventDefault(), options);
    if (typeof ResizeObserver === "function") {
      this.#resizeObserver = new ResizeObserver(() => this.#resize());
      this.#resizeObserver.observe(canvas);
    }
    this.#resize();
  }

  // ---- data ----------------------------------------------------------------

  /** Use a palette from the backend: [r, g, b] per class id. */
  setPalette(palette) {
    this.#lookup = colourLookup(palette);
    this.#markLayerDirty(this.#labels && fullRect(this.#labels));
  }

  /** Show and edit a copy of `labels` (a `LabelBuffer`); forgets undo history. */
  setLabels(labels) {
    if (!(labels instanceof LabelBuffer)) throw new TypeError("setLabels needs a LabelBuffer");
    this.#endStroke();
    const resized = !this.#labels || !sameSize(this.#labels, labels);
    this.#labels = labels.copy();
    this.#history.clear();
    if (resized) this.#makeLayer();
    this.#markLayerDirty(fullRect(labels));
    this.#emitChange("load");
  }

  /**
   * The model's prediction for the current view (a `LabelBuffer` of the mask's
   * size): what the eraser paints back and what `reset()` restores.
   */
  setPrediction(prediction) {
    if (!(prediction instanceof LabelBuffer)) throw new TypeError("setPrediction needs a LabelBuffer");
    this.#prediction = prediction.copy();
  }

  /** A copy of the current labels, or null before any were set. */
  getLabels() {
    return this.#labels ? this.#labels.copy() : null;
  }

  /** The RGB render drawn under the mask (any CanvasImageSource, any size), or null for none. */
  setImage(image) {
    this.#image = image;
    this.#markDisplayDirty("all");
  }

  /** Mask opacity over the image, 0..1 (the mask is opaque when there is no image). */
  setOpacity(opacity) {
    if (!(opacity >= 0 && opacity <= 1)) throw new RangeError(`opacity must be in [0, 1], got ${opacity}`);
    this.#opacity = opacity;
    this.#markDisplayDirty("all");
  }

  // ---- tools ---------------------------------------------------------------

  /** "brush", "eraser" (paints the prediction back) or "fill" (4-connected flood fill). */
  setTool(tool) {
    if (!TOOLS.includes(tool)) throw new RangeError(`unknown tool "${tool}"; use one of ${TOOLS.join(", ")}`);
    this.#markCursorDirty();
    this.#tool = tool;
    this.#markCursorDirty();
  }

  /** Brush and eraser radius in mask pixels (0 = a single pixel). */
  setBrushSize(radius) {
    if (!Number.isInteger(radius) || radius < 0 || radius > 1024) {
      throw new RangeError(`brush size must be an integer 0..1024, got ${radius}`);
    }
    this.#markCursorDirty();
    this.#radius = radius;
    this.#markCursorDirty();
  }

  /** Class id painted by the brush and the fill. */
  setClass(cls) {
    checkClassId(cls);
    this.#cls = cls;
  }

  /**
   * "Protect other classes": null paints everywhere; "stroke-start" changes only
   * pixels of the class under the start of each stroke; an array of class ids
   * changes only pixels of those classes.
   */
  setProtect(protect) {
    if (protect !== null && protect !== "stroke-start") {
      if (!Array.isArray(protect)) throw new TypeError('protect is null, "stroke-start" or a list of class ids');
      protect.forEach(checkClassId);
      protect = [...protect];
    }
    this.#protect = protect;
  }

  // ---- history -------------------------------------------------------------

  get canUndo() {
    return this.#history.canUndo;
  }

  get canRedo() {
    return this.#history.canRedo;
  }

  /** Undo the newest edit (a whole stroke or fill). Returns false when there was none. */
  undo() {
    this.#endStroke();
    const rect = this.#labels && this.#history.undo(this.#labels);
    if (!rect) return false;
    this.#markLayerDirty(rect);
    this.#emitChange("undo");
    return true;
  }

  /** Redo the newest undone edit. Returns false when there was none. */
  redo() {
    this.#endStroke();
    const rect = this.#labels && this.#history.redo(this.#labels);
    if (!rect) return false;
    this.#markLayerDirty(rect);
    this.#emitChange("redo");
    return true;
  }

  /** Put the prediction back as the labels and forget undo history. */
  reset() {
    const prediction = this.#matchingPrediction();
    if (!prediction) throw new Error("There is no prediction of this mask's size to reset to.");
    this.#endStroke();
    this.#labels.copyFrom(prediction);
    this.#history.clear();
    this.#markLayerDirty(fullRect(this.#labels));
    this.#emitChange("reset");
  }

  // ---- view ----------------------------------------------------------------

  /** Zoom in one step about the canvas centre. */
  zoomIn() {
    this.#zoomAbout(ZOOM_STEP, this.#canvas.width / 2, this.#canvas.height / 2);
  }

  /** Zoom out one step about the canvas centre. */
  zoomOut() {
    this.#zoomAbout(1 / ZOOM_STEP, this.#canvas.width / 2, this.#canvas.height / 2);
  }

  /** Show the whole mask, centred, as large as fits. */
  fitView() {
    this.#fitted = true;
    this.#applyFit();
  }

  // ---- listeners -----------------------------------------------------------

  /**
   * Call `listener({ reason, canUndo, canRedo })` after the labels change:
   * reason is "edit" (a stroke or fill ended), "undo", "redo", "reset" or "load".
   * Returns a function that removes the listener.
   */
  onChange(listener) {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Call `listener(message)` when pointer input cannot be carried out. Returns a remover. */
  onError(listener) {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /** Remove event listeners and stop drawing. */
  destroy() {
    this.#events.abort();
    this.#resizeObserver?.disconnect();
    if (this.#frame) cancelAnimationFrame(this.#frame);
    this.#frame = 0;
  }

  // ---- pointer input -------------------------------------------------------

  #onPointerDown(event) {
    if (this.#stroke || this.#pan) return;
    if (event.button === 1 || (event.button === 0 && event.shiftKey)) {
      event.preventDefault();
      this.#pan = { x: event.clientX, y: event.clientY, pointerId: event.pointerId };
      this.#canvas.setPointerCapture(event.pointerId);
      return;
    }
    if (event.button !== 0 || !this.#labels) return;
    event.preventDefault();
    const [x, y] = this.#maskPoint(event);
    if (this.#tool === "fill") {
      this.#fillAt(x, y);
      return;
    }
    const brush = this.#strokeBrush(x, y);
    if (!brush) return;
    this.#history.begin(this.#labels);
    this.#stroke = { brush, x, y, pointerId: event.pointerId };
    this.#canvas.setPointerCapture(event.pointerId);
    this.#markLayerDirty(stampDisc(this.#labels, brush, x, y).rect);
  }

  #onPointerMove(event) {
    if (this.#pan && event.pointerId === this.#pan.pointerId) {
      const ratio = this.#pixelRatio();
      this.#offsetX += (event.clientX - this.#pan.x) * ratio;
      this.#offsetY += (event.clientY - this.#pan.y) * ratio;
      this.#pan.x = event.clientX;
      this.#pan.y = event.clientY;
      this.#fitted = false;
      this.#markDisplayDirty("all");
      return;
    }
    const stroke = this.#stroke;
    if (stroke && event.pointerId === stroke.pointerId) {
      const samples = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
      for (const sample of samples.length > 0 ? samples : [event]) {
        const [x, y] = this.#maskPoint(sample);
        this.#markLayerDirty(strokeSegment(this.#labels, stroke.brush, stroke.x, stroke.y, x, y).rect);
        stroke.x = x;
        stroke.y = y;
      }
    }
    const [x, y] = this.#maskPoint(event);
    this.#setHover({ x, y });
  }

  #onPointerEnd(event) {
    if (this.#pan && event.pointerId === this.#pan.pointerId) this.#pan = null;
    if (this.#stroke && event.pointerId === this.#stroke.pointerId) this.#endStroke();
  }

  #onWheel(event) {
    event.preventDefault();
    const [px, py] = this.#devicePoint(event);
    const pixels = event.deltaY * (WHEEL_UNIT_PIXELS[event.deltaMode] ?? 1);
    this.#zoomAbout(Math.exp(-pixels * WHEEL_ZOOM_PER_PIXEL), px, py);
  }

  /** The brush for a stroke starting at (x, y), or null (with an error reported) when none applies. */
  #strokeBrush(x, y) {
    let brush;
    if (this.#tool === "eraser") {
      const prediction = this.#matchingPrediction();
      if (!prediction) {
        this.#emitError("There is no prediction for this view to erase back to.");
        return null;
      }
      brush = Brush.erase(this.#radius, prediction);
    } else {
      brush = Brush.paint(this.#radius, this.#cls);
    }
    if (this.#protect === "stroke-start") {
      const start = this.#pixelAt(x, y);
      return start === null ? null : brush.protecting([start]);
    }
    return this.#protect ? brush.protecting(this.#protect) : brush;
  }

  #fillAt(x, y) {
    const seedClass = this.#pixelAt(x, y);
    if (seedClass === null) return;
    if (Array.isArray(this.#protect) && !this.#protect.includes(seedClass)) return;
    this.#history.begin(this.#labels);
    const changed = floodFill(this.#labels, x, y, this.#cls);
    if (this.#history.commit(this.#labels)) {
      this.#markLayerDirty(rectOfIndices(changed, this.#labels.width));
      this.#emitChange("edit");
    }
  }

  #endStroke() {
    if (!this.#stroke) return;
    const { pointerId } = this.#stroke;
    this.#stroke = null;
    if (this.#canvas.hasPointerCapture?.(pointerId)) this.#canvas.releasePointerCapture(pointerId);
    if (this.#history.commit(this.#labels)) this.#emitChange("edit");
  }

  // ---- coordinates ---------------------------------------------------------

  #pixelRatio() {
    return globalThis.devicePixelRatio || 1;
  }

  /** Device-pixel position of a pointer event on the canvas. */
  #devicePoint(event) {
    const box = this.#canvas.getBoundingClientRect();
    const ratio = this.#pixelRatio();
    return [(event.clientX - box.left) * ratio, (event.clientY - box.top) * ratio];
  }

  /** Mask-pixel position (floats) of a pointer event. */
  #maskPoint(event) {
    const [px, py] = this.#devicePoint(event);
    return [(px - this.#offsetX) / this.#scale, (py - this.#offsetY) / this.#scale];
  }

  /** Class id of the mask pixel holding (x, y), or null outside the mask. */
  #pixelAt(x, y) {
    const px = Math.floor(x);
    const py = Math.floor(y);
    return this.#labels.contains(px, py) ? this.#labels.get(px, py) : null;
  }

  #matchingPrediction() {
    const prediction = this.#prediction;
    return this.#labels && prediction && sameSize(prediction, this.#labels) ? prediction : null;
  }

  #fitScale() {
    if (!this.#labels) return 1;
    const fit = Math.min(this.#canvas.width / this.#labels.width, this.#canvas.height / this.#labels.height);
    return fit >= 1 ? Math.floor(fit) : fit; // whole device pixels per mask pixel where possible
  }

  #applyFit() {
    if (!this.#labels) return;
    this.#scale = this.#fitScale();
    this.#offsetX = Math.round((this.#canvas.width - this.#labels.width * this.#scale) / 2);
    this.#offsetY = Math.round((this.#canvas.height - this.#labels.height * this.#scale) / 2);
    this.#markDisplayDirty("all");
  }

  #zoomAbout(factor, px, py) {
    if (!this.#labels) return;
    const fit = this.#fitScale();
    const scale = Math.min(fit * MAX_ZOOM, Math.max(fit * MIN_ZOOM, this.#scale * factor));
    // Keep the mask point under (px, py) where it is.
    this.#offsetX = px - ((px - this.#offsetX) * scale) / this.#scale;
    this.#offsetY = py - ((py - this.#offsetY) * scale) / this.#scale;
    this.#scale = scale;
    this.#fitted = false;
    this.#markDisplayDirty("all");
  }

  #resize() {
    const ratio = this.#pixelRatio();
    const width = Math.max(1, Math.round(this.#canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.#canvas.clientHeight * ratio));
    if (width !== this.#canvas.width || height !== this.#canvas.height) {
      this.#canvas.width = width;
      this.#canvas.height = height;
    }
    if (this.#fitted) this.#applyFit();
    this.#markDisplayDirty("all");
  }

  // ---- drawing -------------------------------------------------------------

  #makeLayer() {
    const { width, height } = this.#labels;
    if (typeof OffscreenCanvas === "function") {
      this.#layer = new OffscreenCanvas(width, height);
    } else {
      this.#layer = document.createElement("canvas");
      this.#layer.width = width;
      this.#layer.height = height;
    }
    this.#layerCtx = this.#layer.getContext("2d");
    this.#fitted = true;
    this.#applyFit();
  }

  #setHover(point) {
    this.#markCursorDirty();
    this.#hover = point;
    this.#markCursorDirty();
  }

  #markLayerDirty(rect) {
    if (!rect) return;
    this.#dirtyLayer = unionRect(this.#dirtyLayer, rect);
    this.#markDisplayDirty(this.#displayRectOf(rect.x, rect.y, rect.width, rect.height));
  }

  /** Repaint where the brush outline is now (call before and after it changes). */
  #markCursorDirty() {
    const outline = this.#brushOutline();
    if (!outline) return;
    const reach = Math.ceil(outline.radius + OUTLINE_GAP + OUTLINE_WIDTH) + 1;
    const x = Math.floor(outline.cx) - reach;
    const y = Math.floor(outline.cy) - reach;
    this.#markDisplayDirty({ x, y, width: 2 * reach + 1, height: 2 * reach + 1 });
  }

  /** Where the brush outline goes, in device pixels: { cx, cy, radius }, or null when none is shown. */
  #brushOutline() {
    if (!this.#hover || !this.#labels || this.#tool === "fill") return null;
    return {
      cx: this.#offsetX + (Math.floor(this.#hover.x) + 0.5) * this.#scale,
      cy: this.#offsetY + (Math.floor(this.#hover.y) + 0.5) * this.#scale,
      radius: (this.#radius + 0.5) * this.#scale,
    };
  }

  #markDisplayDirty(rect) {
    if (this.#dirtyDisplay !== "all") this.#dirtyDisplay = rect === "all" ? "all" : unionRect(this.#dirtyDisplay, rect);
    if (!this.#frame && this.#dirtyDisplay) this.#frame = requestAnimationFrame(() => this.#draw());
  }

  /** Device-pixel rectangle covering a mask-pixel rectangle, with a pixel of margin. */
  #displayRectOf(x, y, width, height) {
    const left = Math.floor(this.#offsetX + x * this.#scale) - 1;
    const top = Math.floor(this.#offsetY + y * this.#scale) - 1;
    const right = Math.ceil(this.#offsetX + (x + width) * this.#scale) + 1;
    const bottom = Math.ceil(this.#offsetY + (y + height) * this.#scale) + 1;
    return { x: left, y: top, width: right - left, height: bottom - top };
  }

  #draw() {
    this.#frame = 0;
    if (this.#dirtyLayer && this.#labels && this.#lookup) {
      const rect = this.#dirtyLayer;
      const rgba = rgbaFromLabels(this.#labels, this.#lookup, rect);
      this.#layerCtx.putImageData(new ImageData(rgba, rect.width, rect.height), rect.x, rect.y);
    }
    this.#dirtyLayer = null;
    const dirty = this.#dirtyDisplay;
    this.#dirtyDisplay = null;
    if (!dirty) return;

    const ctx = this.#ctx;
    const area = dirty === "all" ? { x: 0, y: 0, width: this.#canvas.width, height: this.#canvas.height } : dirty;
    ctx.save();
    ctx.beginPath();
    ctx.rect(area.x, area.y, area.width, area.height);
    ctx.clip();
    ctx.clearRect(area.x, area.y, area.width, area.height);
    if (this.#labels) {
      const { width, height } = this.#labels;
      ctx.setTransform(this.#scale, 0, 0, this.#scale, this.#offsetX, this.#offsetY);
      if (this.#image) {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(this.#image, 0, 0, width, height);
      }
      if (this.#lookup && this.#layer) {
        ctx.imageSmoothingEnabled = false;
        ctx.globalAlpha = this.#image ? this.#opacity : 1;
        ctx.drawImage(this.#layer, 0, 0, width, height);
        ctx.globalAlpha = 1;
      }
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      this.#drawBrushOutline(ctx);
    }
    ctx.restore();
  }

  /** A dark and a light ring around the disc the brush would paint, visible on any colour. */
  #drawBrushOutline(ctx) {
    const outline = this.#brushOutline();
    if (!outline) return;
    ctx.lineWidth = OUTLINE_WIDTH;
    ctx.beginPath();
    ctx.arc(outline.cx, outline.cy, outline.radius, 0, 2 * Math.PI);
    ctx.strokeStyle = "rgba(0, 0, 0, 0.8)";
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(outline.cx, outline.cy, outline.radius + OUTLINE_GAP, 0, 2 * Math.PI);
    ctx.strokeStyle = "rgba(255, 255, 255, 0.8)";
    ctx.stroke();
  }

  #emitChange(reason) {
    const event = { reason, canUndo: this.#history.canUndo, canRedo: this.#history.canRedo };
    for (const listener of this.#changeListeners) listener(event);
  }

  #emitError(message) {
    for (const listener of this.#errorListeners) listener(message);
  }
}
