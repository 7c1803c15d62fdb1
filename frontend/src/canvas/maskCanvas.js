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
 * The concerns live in their own modules: `pointerInput.js` turns events into
 * gestures, `viewport.js` maps mask pixels to device pixels (fit, zoom, pan),
 * `drawing.js` keeps the colour layer and paints the display; this class holds
 * the state, the tools and the undo history, and schedules the frames.
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
  sameSize,
  unionRect,
} from "../mask/labelBuffer.js";
import { Brush, floodFill, stampDisc, strokeSegment } from "./brush.js";
import { MaskLayer, outlineReach, paintDisplay } from "./drawing.js";
import { PointerInput } from "./pointerInput.js";
import { Viewport, ZOOM_STEP } from "./viewport.js";

/** Tool names accepted by `setTool`. */
export const TOOLS = Object.freeze(["brush", "eraser", "fill"]);

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
  #image = null;
  #opacity = 0.6;

  #tool = "brush";
  #radius = 2;
  #cls = 0;
  #protect = null;
  #history;

  #viewport = new Viewport();
  #input;

  #stroke = null; // { brush, x, y } while painting
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
    const handlers = {
      paintStart: (point, event) => this.#paintStart(point, event),
      paintMove: (points) => this.#paintMove(points),
      paintEnd: () => this.#endStroke(),
      panBy: (dx, dy) => {
        this.#viewport.panBy(dx, dy);
        this.#markDisplayDirty("all");
      },
      zoomAbout: (factor, px, py) => this.#zoomAbout(factor, px, py),
      hover: (point) => {
        const [x, y] = point ? this.#viewport.toMask(...point) : [];
        this.#setHover(point ? { x, y } : null);
      },
    };
    this.#input = new PointerInput(canvas, handlers, this.#events.signal);
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
    this.#viewport.fitted = true;
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

  // ---- painting ------------------------------------------------------------

  /** A stroke or fill starts at device point `point`; true when a stroke began. */
  #paintStart(point, event) {
    if (!this.#labels) return false;
    event.preventDefault();
    const [x, y] = this.#viewport.toMask(...point);
    if (this.#tool === "fill") {
      this.#fillAt(x, y);
      return false;
    }
    const brush = this.#strokeBrush(x, y);
    if (!brush) return false;
    this.#history.begin(this.#labels);
    this.#stroke = { brush, x, y };
    this.#markLayerDirty(stampDisc(this.#labels, brush, x, y).rect);
    return true;
  }

  #paintMove(points) {
    const stroke = this.#stroke;
    if (!stroke) return;
    for (const point of points) {
      const [x, y] = this.#viewport.toMask(...point);
      this.#markLayerDirty(strokeSegment(this.#labels, stroke.brush, stroke.x, stroke.y, x, y).rect);
      stroke.x = x;
      stroke.y = y;
    }
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
    this.#stroke = null;
    this.#input.releaseStroke();
    if (this.#history.commit(this.#labels)) this.#emitChange("edit");
  }

  // ---- viewport ------------------------------------------------------------

  #pixelRatio() {
    return globalThis.devicePixelRatio || 1;
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

  #applyFit() {
    if (!this.#labels) return;
    this.#viewport.fit(this.#canvas, this.#labels);
    this.#markDisplayDirty("all");
  }

  #zoomAbout(factor, px, py) {
    if (!this.#labels) return;
    this.#viewport.zoomAbout(factor, px, py, this.#canvas, this.#labels);
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
    if (this.#viewport.fitted) this.#applyFit();
    this.#markDisplayDirty("all");
  }

  // ---- drawing -------------------------------------------------------------

  #makeLayer() {
    this.#layer = new MaskLayer(this.#labels.width, this.#labels.height);
    this.#viewport.fitted = true;
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
    this.#markDisplayDirty(this.#viewport.displayRectOf(rect));
  }

  /** Repaint where the brush outline is now (call before and after it changes). */
  #markCursorDirty() {
    const outline = this.#brushOutline();
    if (!outline) return;
    const reach = outlineReach(outline);
    const x = Math.floor(outline.cx) - reach;
    const y = Math.floor(outline.cy) - reach;
    this.#markDisplayDirty({ x, y, width: 2 * reach + 1, height: 2 * reach + 1 });
  }

  /** Where the brush outline goes, in device pixels: { cx, cy, radius }, or null when none is shown. */
  #brushOutline() {
    if (!this.#hover || !this.#labels || this.#tool === "fill") return null;
    const [cx, cy] = this.#viewport.pixelCentre(this.#hover.x, this.#hover.y);
    return { cx, cy, radius: (this.#radius + 0.5) * this.#viewport.scale };
  }

  #markDisplayDirty(rect) {
    if (this.#dirtyDisplay !== "all") this.#dirtyDisplay = rect === "all" ? "all" : unionRect(this.#dirtyDisplay, rect);
    if (!this.#frame && this.#dirtyDisplay) this.#frame = requestAnimationFrame(() => this.#draw());
  }

  #draw() {
    this.#frame = 0;
    if (this.#dirtyLayer && this.#labels && this.#lookup) {
      this.#layer.recolour(this.#labels, this.#lookup, this.#dirtyLayer);
    }
    this.#dirtyLayer = null;
    const dirty = this.#dirtyDisplay;
    this.#dirtyDisplay = null;
    if (!dirty) return;
    const area = dirty === "all" ? { x: 0, y: 0, width: this.#canvas.width, height: this.#canvas.height } : dirty;
    paintDisplay(this.#ctx, area, {
      viewport: this.#viewport,
      mask: this.#labels,
      image: this.#image,
      layer: this.#lookup ? this.#layer : null,
      opacity: this.#opacity,
      outline: this.#brushOutline(),
    });
  }

  #emitChange(reason) {
    const event = { reason, canUndo: this.#history.canUndo, canRedo: this.#history.canRedo };
    for (const listener of this.#changeListeners) listener(event);
  }

  #emitError(message) {
    for (const listener of this.#errorListeners) listener(message);
  }
}
