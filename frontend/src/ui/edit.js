/**
 * The edit panel: send the painted mask as the target of an edit, follow the
 * job (progress, preview, Cancel), then show before / after at the left, front
 * and right views and as an orbit, with how many of the painted pixels the
 * result reached and the painted mask beside the result's. The page moves on
 * to the edited face;
 * "Undo the edit" goes back to the face it came from, "Continue from the
 * result" to the edited one. Edit jobs found again after a reload end here too.
 */

import { renderFace, renderUrl, startEdit } from "../api/client.js";
import { JOB_KINDS } from "../api/jobs.js";
import { encodeIndexedPng } from "../mask/codec.js";
import { errorSlot, guarded, isAbort } from "./errors.js";
import { ProgressView } from "./jobs.js";
import { playOrbit } from "./orbit.js";
import { currentLayout, paletteOf, viewOfRecord } from "./state.js";

const COMPARE_VIEWS = ["left", "front", "right"];
const ORBIT_SIDE = 64;

export class EditPanel {
  #state;
  #canvas;
  #viewer;
  #tracker;
  #el;
  #errors;
  #progress;
  #result = null;
  #stopOrbit = null;
  #orbitImages = [];
  #painted = null;

  /**
   * @param {object} deps { state, canvas, viewer, tracker }
   * @param {object} el elements: steps, start, error, progress, result, outcome, painted,
   *   reached, orbit, continue, undo
   */
  constructor({ state, canvas, viewer, tracker }, el) {
    this.#state = state;
    this.#canvas = canvas;
    this.#viewer = viewer;
    this.#tracker = tracker;
    this.#el = el;
    this.#errors = errorSlot(el.error);
    this.#progress = new ProgressView(el.progress, "Edit");
    el.start.addEventListener("click", guarded(this.#errors, () => this.#start()));
    el.orbit.addEventListener("click", () => (this.#stopOrbit ? this.#endOrbit() : this.#startOrbit()));
    el.continue.addEventListener("click", () => this.#result && state.set({ faceId: this.#result.face_id }));
    el.undo.addEventListener("click", () => this.#result && state.set({ faceId: this.#result.parent_id }));
    tracker.onUpdate((job) => this.#onJob(job));
    state.on("model", (model) => {
      el.steps.max = String(model.edit_steps);
      el.steps.value = String(model.edit_steps);
    });
  }

  async #start() {
    const loaded = this.#viewer.loaded;
    const layout = currentLayout(this.#state);
    const labels = this.#canvas.getLabels();
    if (!loaded || !labels || !layout || loaded.layoutId !== layout.id) {
      throw new Error("Wait until the face has finished loading.");
    }
    if (!this.#canvas.canUndo) throw new Error("Paint the mask you want first: it is still the prediction.");
    const steps = Number(this.#el.steps.value);
    const max = Number(this.#el.steps.max);
    if (!Number.isInteger(steps) || steps < 1 || steps > max) {
      throw new Error(`Steps must be a whole number from 1 to ${max}.`);
    }
    const maskPng = await encodeIndexedPng(labels, paletteOf(layout));
    this.#el.start.disabled = true;
    try {
      const job = await startEdit(loaded.faceId, { maskPng, layout: layout.id, view: loaded.view, steps });
      this.#rememberPainted(job.id, maskPng);
      this.#progress.show(job);
      this.#tracker.track(job);
    } catch (error) {
      this.#el.start.disabled = false;
      throw error;
    }
  }

  #onJob(job) {
    if (job.kind !== JOB_KINDS.edit) return;
    if (this.#progress.jobId && this.#progress.jobId !== job.id) return;
    this.#progress.show(job);
    const running = job.status === "queued" || job.status === "running";
    this.#el.start.disabled = running;
    if (job.status === "succeeded" && job.result) {
      this.#showResult(job.result);
      this.#showOutcome(job);
      this.#state.set({ faceId: job.result.face_id });
    }
  }

  #showResult(result) {
    this.#endOrbit();
    this.#result = result;
    const rows = {
      before: this.#el.result.querySelector('[data-role="before"]'),
      after: this.#el.result.querySelector('[data-role="after"]'),
    };
    this.#orbitImages = [];
    for (const [role, faceId] of [
      ["before", result.parent_id],
      ["after", result.face_id],
    ]) {
      const row = rows[role];
      row.querySelectorAll("td").forEach((cell) => cell.remove());
      for (const view of COMPARE_VIEWS) {
        row.append(this.#cell(renderUrl(faceId, { view }, { kind: "rgb" }), `${role}, ${view} view`));
      }
      // the orbit starts on the front view's image: the same URL, so one render for both
      const orbitCell = this.#cell(renderUrl(faceId, { view: "front" }, { kind: "rgb" }), `${role}, orbit`);
      row.append(orbitCell);
      this.#orbitImages.push({ faceId, image: orbitCell.querySelector("img") });
    }
    this.#el.result.hidden = false;
  }

  #rememberPainted(jobId, maskPng) {
    if (this.#painted) URL.revokeObjectURL(this.#painted.url);
    this.#painted = { jobId, url: URL.createObjectURL(new Blob([maskPng], { type: "image/png" })) };
  }

  /** "412 of 450 painted pixels reached; 6 changed elsewhere", and the two masks. */
  #showOutcome(job) {
    const outcome = job.result.outcome;
    this.#el.outcome.textContent = outcome ? describeOutcome(outcome) : "";
    const painted = this.#painted?.jobId === job.id ? this.#painted.url : null;
    this.#el.painted.closest("figure").hidden = !painted;
    if (painted) this.#el.painted.src = painted;
    const view = viewOfRecord(job.params.view);
    this.#el.reached.src = renderUrl(job.result.face_id, view, { kind: "mask", layout: job.params.layout_id });
  }

  #cell(src, alt) {
    const cell = document.createElement("td");
    const image = document.createElement("img");
    image.src = src;
    image.alt = alt;
    cell.append(image);
    return cell;
  }

  #startOrbit() {
    if (this.#orbitImages.length === 0) return;
    this.#el.orbit.setAttribute("aria-pressed", "true");
    this.#el.orbit.textContent = "Stop orbit";
    const urls = new Map();
    this.#stopOrbit = playOrbit(
      async (yaw, signal) => {
        const blobs = await Promise.all(
          this.#orbitImages.map(({ faceId }) => renderFace(faceId, { yaw, pitch: 0 }, { kind: "rgb", size: ORBIT_SIDE }, signal)),
        );
        if (signal.aborted) return;
        this.#orbitImages.forEach(({ image }, i) => {
          if (urls.has(image)) URL.revokeObjectURL(urls.get(image));
          urls.set(image, URL.createObjectURL(blobs[i]));
          image.src = urls.get(image);
        });
      },
      (error) => {
        if (!isAbort(error)) this.#errors.show(error);
        this.#endOrbit();
      },
    );
  }

  #endOrbit() {
    this.#stopOrbit?.();
    this.#stopOrbit = null;
    this.#el.orbit.setAttribute("aria-pressed", "false");
    this.#el.orbit.textContent = "Play orbit";
  }
}

/** What an edit reached, in words: counts of `EditOutcome` (painted, reached, changed_elsewhere). */
export function describeOutcome({ painted, reached, changed_elsewhere: elsewhere }) {
  const noun = (count) => (count === 1 ? "pixel" : "pixels");
  return `${reached} of ${painted} painted ${noun(painted)} reached; ${elsewhere} ${noun(elsewhere)} changed elsewhere.`;
}
