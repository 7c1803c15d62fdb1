/**
 * The download panel: the export ZIP of the current face (renders, masks and
 * overlays at three views, orbit video, ws.npy, layout with adapter) made as a
 * job (progress per orbit frame, Cancel; saved once it is done), the current
 * view's render, and the painted mask as an indexed PNG.
 */

import { downloadJobFile, isTerminal, renderUrl, startExport } from "../api/client.js";
import { JOB_KINDS } from "../api/jobs.js";
import { encodeIndexedPng } from "../mask/codec.js";
import { errorSlot, guarded } from "./errors.js";
import { ProgressView } from "./jobs.js";
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
 * @param {object} deps { state, canvas, viewer, tracker }
 * @param {object} el elements: zip, progress, render, mask, status, error
 */
export function initDownloadPanel({ state, canvas, viewer, tracker }, el) {
  const errors = errorSlot(el.error);
  const progress = new ProgressView(el.progress, "ZIP export");
  const save = guarded(errors, async (job) => {
    const name = `face-${job.params.face_id}.zip`;
    const blob = await downloadJobFile(job.id);
    saveBlob(blob, name);
    el.status.textContent = `Downloaded ${name} (${Math.round(blob.size / 1024)} KiB).`;
  });
  const show = (job) => {
    progress.show(job);
    el.zip.disabled = !isTerminal(job.status);
    if (job.status === "succeeded") save(job);
  };
  el.zip.addEventListener(
    "click",
    guarded(errors, async () => {
      const faceId = state.get("faceId");
      if (!faceId) throw new Error("There is no face to download yet.");
      el.zip.disabled = true;
      el.status.textContent = "";
      try {
        const job = await startExport(faceId, state.get("layoutId"));
        show(job); // an export made before answers at once, already succeeded
        if (!isTerminal(job.status)) tracker.track(job);
      } catch (error) {
        el.zip.disabled = false;
        throw error;
      }
    }),
  );
  tracker.onUpdate((job) => {
    if (job.kind === JOB_KINDS.export && job.id === progress.jobId) show(job);
  });
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
