/**
 * The download panel: the export ZIP of the current face (renders, masks and
 * overlays at three views, orbit video, ws.npy, layout with adapter), the
 * current view's render, and the painted mask as an indexed PNG.
 */

import { exportFace, renderUrl } from "../api/client.js";
import { encodeIndexedPng } from "../mask/codec.js";
import { errorSlot, guarded } from "./errors.js";
import { currentLayout, paletteOf } from "./state.js";

/** Let the browser save `blob` as `name`. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * @param {AppState} state
 * @param {MaskCanvas} canvas
 * @param {Viewer} viewer
 * @param {object} el elements: zip, render, mask, status, error
 */
export function initDownloadPanel(state, canvas, viewer, el) {
  const errors = errorSlot(el.error);
  el.zip.addEventListener(
    "click",
    guarded(errors, async () => {
      const faceId = state.get("faceId");
      if (!faceId) throw new Error("There is no face to download yet.");
      el.zip.disabled = true;
      el.status.textContent = "Preparing the ZIP (renders and an orbit video)…";
      try {
        const blob = await exportFace(faceId, state.get("layoutId"));
        saveBlob(blob, `face-${faceId}.zip`);
        el.status.textContent = `Downloaded face-${faceId}.zip (${Math.round(blob.size / 1024)} KiB).`;
      } catch (error) {
        el.status.textContent = "";
        throw error;
      } finally {
        el.zip.disabled = false;
      }
    }),
  );
  el.mask.addEventListener(
    "click",
    guarded(errors, async () => {
      const labels = canvas.getLabels();
      const layout = currentLayout(state);
      if (!labels || !layout) throw new Error("There is no mask to download yet.");
      const png = await encodeIndexedPng(labels, paletteOf(layout));
      saveBlob(new Blob([png], { type: "image/png" }), `mask-${layout.name}.png`);
    }),
  );
  viewer.onLoaded(({ faceId, view }) => {
    el.render.href = renderUrl(faceId, view, { kind: "rgb" });
    el.render.download = `face-${faceId}-${view.view ?? "view"}.png`;
  });
}
