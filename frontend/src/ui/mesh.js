/**
 * The mesh downloads: the current face's surface in the layout shown, as GLB or PLY,
 * made as a job (progress, Cancel; saved once it is done). A GLB also turns in a small
 * preview (`../mesh/turntable.js`), read back from the very file that was saved.
 */

import { downloadJobFile, isTerminal, startMesh } from "../api/client.js";
import { JOB_KINDS } from "../api/jobs.js";
import { readGlbMesh } from "../mesh/glb.js";
import { startTurntable } from "../mesh/turntable.js";
import { saveBlob } from "./download.js";
import { errorSlot, guarded } from "./errors.js";
import { ProgressView } from "./jobs.js";

/**
 * @param {object} deps { state, tracker }
 * @param {object} el elements: glb, ply, progress, preview, status, error
 */
export function initMeshPanel({ state, tracker }, el) {
  const errors = errorSlot(el.error);
  const progress = new ProgressView(el.progress, "Mesh");
  const buttons = [el.glb, el.ply];
  let stopPreview = () => {};
  const preview = async (blob) => {
    stopPreview();
    const mesh = readGlbMesh(await blob.arrayBuffer());
    el.preview.hidden = false;
    el.preview.dataset.vertices = String(mesh.count);
    stopPreview = startTurntable(el.preview, mesh);
  };
  const save = guarded(errors, async (job) => {
    const name = `face-${job.params.face_id}-${job.params.grid}.${job.params.format}`;
    const blob = await downloadJobFile(job.id);
    saveBlob(blob, name);
    el.status.textContent =
      `Downloaded ${name} (${job.result.vertices} vertices, ` +
      `${Math.round(blob.size / 1024)} KiB).`;
    if (job.params.format === "glb") await preview(blob);
  });
  const show = (job) => {
    progress.show(job);
    for (const button of buttons) button.disabled = !isTerminal(job.status);
    if (job.status === "succeeded") save(job);
  };
  const start = (format) =>
    guarded(errors, async () => {
      const faceId = state.get("faceId");
      if (!faceId) throw new Error("There is no face to make a mesh of yet.");
      for (const button of buttons) button.disabled = true;
      el.status.textContent = "";
      try {
        const job = await startMesh(faceId, state.get("layoutId"), format);
        show(job); // a mesh made before answers at once, already succeeded
        if (!isTerminal(job.status)) tracker.track(job);
      } catch (error) {
        for (const button of buttons) button.disabled = false;
        throw error;
      }
    });
  el.glb.addEventListener("click", start("glb"));
  el.ply.addEventListener("click", start("ply"));
  tracker.onUpdate((job) => {
    if (job.kind === JOB_KINDS.mesh && job.id === progress.jobId) show(job);
  });
}
