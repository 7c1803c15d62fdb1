/**
 * The mask canvas's viewport: how mask pixels map to device pixels (a uniform
 * scale and an offset), fitting, zooming about a point and panning. Pure
 * arithmetic, no DOM.
 */

export const ZOOM_STEP = 1.25;
/** Zoom limits relative to the scale that fits the whole mask in the canvas. */
const MIN_ZOOM = 0.5;
const MAX_ZOOM = 64;

/** Mask pixel (x, y) sits at device pixel (offsetX + x·scale, offsetY + y·scale). */
export class Viewport {
  scale = 1;
  offsetX = 0;
  offsetY = 0;
  /** True while the view follows the canvas size (until the user zooms or pans). */
  fitted = true;

  /** The scale that fits a mask in a canvas: whole device pixels per mask pixel where possible. */
  static fitScale(canvas, mask) {
    const fit = Math.min(canvas.width / mask.width, canvas.height / mask.height);
    return fit >= 1 ? Math.floor(fit) : fit;
  }

  /** Show the whole mask centred in the canvas, as large as fits. */
  fit(canvas, mask) {
    this.scale = Viewport.fitScale(canvas, mask);
    this.offsetX = Math.round((canvas.width - mask.width * this.scale) / 2);
    this.offsetY = Math.round((canvas.height - mask.height * this.scale) / 2);
  }

  /** Zoom by `factor` keeping the mask point under device pixel (px, py) where it is. */
  zoomAbout(factor, px, py, canvas, mask) {
    const fit = Viewport.fitScale(canvas, mask);
    const scale = Math.min(fit * MAX_ZOOM, Math.max(fit * MIN_ZOOM, this.scale * factor));
    this.offsetX = px - ((px - this.offsetX) * scale) / this.scale;
    this.offsetY = py - ((py - this.offsetY) * scale) / this.scale;
    this.scale = scale;
    this.fitted = false;
  }

  /** Move the mask by (dx, dy) device pixels. */
  panBy(dx, dy) {
    this.offsetX += dx;
    this.offsetY += dy;
    this.fitted = false;
  }

  /** Mask-pixel position (floats) of device pixel (px, py). */
  toMask(px, py) {
    return [(px - this.offsetX) / this.scale, (py - this.offsetY) / this.scale];
  }

  /** Device-pixel centre of the mask pixel holding (x, y). */
  pixelCentre(x, y) {
    return [this.offsetX + (Math.floor(x) + 0.5) * this.scale, this.offsetY + (Math.floor(y) + 0.5) * this.scale];
  }

  /** Device-pixel rectangle covering a mask-pixel rectangle, with a pixel of margin. */
  displayRectOf({ x, y, width, height }) {
    const left = Math.floor(this.offsetX + x * this.scale) - 1;
    const top = Math.floor(this.offsetY + y * this.scale) - 1;
    const right = Math.ceil(this.offsetX + (x + width) * this.scale) + 1;
    const bottom = Math.ceil(this.offsetY + (y + height) * this.scale) + 1;
    return { x: left, y: top, width: right - left, height: bottom - top };
  }
}
