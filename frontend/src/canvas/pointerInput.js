/**
 * The mask canvas's pointer input: turns pointer and wheel events of a canvas
 * into gestures in device pixels, for the canvas to act on.
 *
 * The left button paints (`paintStart`, `paintMove` with every coalesced
 * sample, `paintEnd`); the middle button, or the left button with Shift held,
 * pans (`panBy`); the wheel zooms about the pointer (`zoomAbout`); `hover`
 * follows the pointer (null when it leaves). `paintStart` returns whether a
 * stroke began (a fill or a refused stroke does not capture the pointer).
 */

const WHEEL_ZOOM_PER_PIXEL = 0.0015;
/** Wheel delta units (WheelEvent.deltaMode: pixels, lines, pages) in pixels. */
const WHEEL_UNIT_PIXELS = [1, 16, 400];

const pixelRatio = () => globalThis.devicePixelRatio || 1;

export class PointerInput {
  #canvas;
  #handlers;
  #paint = null; // pointerId while painting
  #pan = null; // { x, y, pointerId } while panning

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} handlers paintStart(point) → bool, paintMove(points), paintEnd(), panBy(dx, dy),
   *   zoomAbout(factor, px, py), hover(point | null)
   * @param {AbortSignal} signal removes the listeners when aborted
   */
  constructor(canvas, handlers, signal) {
    this.#canvas = canvas;
    this.#handlers = handlers;
    const options = { signal };
    canvas.style.touchAction = "none";
    canvas.addEventListener("pointerdown", (e) => this.#onPointerDown(e), options);
    canvas.addEventListener("pointermove", (e) => this.#onPointerMove(e), options);
    canvas.addEventListener("pointerup", (e) => this.#onPointerEnd(e), options);
    canvas.addEventListener("pointercancel", (e) => this.#onPointerEnd(e), options);
    canvas.addEventListener("lostpointercapture", (e) => this.#onPointerEnd(e), options);
    canvas.addEventListener("pointerleave", () => handlers.hover(null), options);
    canvas.addEventListener("wheel", (e) => this.#onWheel(e), { ...options, passive: false });
    // No middle-button autoscroll: that button pans.
    canvas.addEventListener("mousedown", (e) => e.button === 1 && e.preventDefault(), options);
  }

  /** True while a stroke is being painted. */
  get painting() {
    return this.#paint !== null;
  }

  /** Stop following the stroke's pointer (the canvas ends the stroke itself). */
  releaseStroke() {
    const pointerId = this.#paint;
    this.#paint = null;
    if (pointerId !== null && this.#canvas.hasPointerCapture?.(pointerId)) {
      this.#canvas.releasePointerCapture(pointerId);
    }
  }

  /** Device-pixel position of a pointer event on the canvas. */
  devicePoint(event) {
    const box = this.#canvas.getBoundingClientRect();
    const ratio = pixelRatio();
    return [(event.clientX - box.left) * ratio, (event.clientY - box.top) * ratio];
  }

  #onPointerDown(event) {
    if (this.#paint !== null || this.#pan) return;
    if (event.button === 1 || (event.button === 0 && event.shiftKey)) {
      event.preventDefault();
      this.#pan = { x: event.clientX, y: event.clientY, pointerId: event.pointerId };
      this.#canvas.setPointerCapture(event.pointerId);
      return;
    }
    if (event.button !== 0) return;
    if (!this.#handlers.paintStart(this.devicePoint(event), event)) return;
    this.#paint = event.pointerId;
    this.#canvas.setPointerCapture(event.pointerId);
  }

  #onPointerMove(event) {
    if (this.#pan && event.pointerId === this.#pan.pointerId) {
      const ratio = pixelRatio();
      this.#handlers.panBy((event.clientX - this.#pan.x) * ratio, (event.clientY - this.#pan.y) * ratio);
      this.#pan.x = event.clientX;
      this.#pan.y = event.clientY;
      return;
    }
    if (this.#paint !== null && event.pointerId === this.#paint) {
      const samples = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
      this.#handlers.paintMove((samples.length > 0 ? samples : [event]).map((sample) => this.devicePoint(sample)));
    }
    this.#handlers.hover(this.devicePoint(event));
  }

  #onPointerEnd(event) {
    if (this.#pan && event.pointerId === this.#pan.pointerId) this.#pan = null;
    if (this.#paint !== null && event.pointerId === this.#paint) this.#handlers.paintEnd();
  }

  #onWheel(event) {
    event.preventDefault();
    const [px, py] = this.devicePoint(event);
    const pixels = event.deltaY * (WHEEL_UNIT_PIXELS[event.deltaMode] ?? 1);
    this.#handlers.zoomAbout(Math.exp(-pixels * WHEEL_ZOOM_PER_PIXEL), px, py);
  }
}
