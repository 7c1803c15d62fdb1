/**
 * The mask canvas's drawing: the offscreen layer of label colours (one pixel
 * per mask pixel, recoloured only where labels changed), and painting a region
 * of the display: the RGB render underneath, the layer scaled up without
 * smoothing at the overlay opacity, and the brush outline.
 */

import { rgbaFromLabels } from "../mask/labelBuffer.js";

/** Brush outline: line width and the gap between its dark and light rings, in device pixels. */
const OUTLINE_WIDTH = 1.5;
const OUTLINE_GAP = 1.5;

/** The label colours of a mask, at the mask's size. */
export class MaskLayer {
  #canvas;
  #ctx;

  constructor(width, height) {
    if (typeof OffscreenCanvas === "function") {
      this.#canvas = new OffscreenCanvas(width, height);
    } else {
      this.#canvas = document.createElement("canvas");
      this.#canvas.width = width;
      this.#canvas.height = height;
    }
    this.#ctx = this.#canvas.getContext("2d");
  }

  /** The drawable source. */
  get source() {
    return this.#canvas;
  }

  /** Recolour the mask-pixel rectangle `rect` of `labels` through `lookup`. */
  recolour(labels, lookup, rect) {
    const rgba = rgbaFromLabels(labels, lookup, rect);
    this.#ctx.putImageData(new ImageData(rgba, rect.width, rect.height), rect.x, rect.y);
  }
}

/** Half-size of the device-pixel square a brush outline { cx, cy, radius } may touch. */
export function outlineReach(outline) {
  return Math.ceil(outline.radius + OUTLINE_GAP + OUTLINE_WIDTH) + 1;
}

/**
 * Repaint `area` (device pixels) of the display: `scene` = { viewport, mask
 * ({ width, height }) or null, image, layer (a `MaskLayer`) or null, opacity,
 * outline or null }.
 */
export function paintDisplay(ctx, area, scene) {
  const { viewport, mask, image, layer, opacity, outline } = scene;
  ctx.save();
  ctx.beginPath();
  ctx.rect(area.x, area.y, area.width, area.height);
  ctx.clip();
  ctx.clearRect(area.x, area.y, area.width, area.height);
  if (mask) {
    const { width, height } = mask;
    ctx.setTransform(viewport.scale, 0, 0, viewport.scale, viewport.offsetX, viewport.offsetY);
    if (image) {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(image, 0, 0, width, height);
    }
    if (layer) {
      ctx.imageSmoothingEnabled = false;
      ctx.globalAlpha = image ? opacity : 1;
      ctx.drawImage(layer.source, 0, 0, width, height);
      ctx.globalAlpha = 1;
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (outline) drawBrushOutline(ctx, outline);
  }
  ctx.restore();
}

/** A dark and a light ring around the disc the brush would paint, visible on any colour. */
function drawBrushOutline(ctx, outline) {
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
