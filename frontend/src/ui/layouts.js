/**
 * The layouts panel: create a layout (a base layout plus new classes with names
 * and colours), teach it from samples and train it.
 *
 * A sample is the current face at the current view with its mask: either the
 * mask painted on the canvas (which starts from the prediction: the base
 * layout's classes, or the layout's own adapter once trained), or an uploaded
 * annotated PNG (indexed, or RGB in the layout's colours; checked by the
 * server). The sample list shows each sample's face and mask. Training runs as
 * a job with live progress (step, losses, preview) and Cancel; once it
 * succeeds the layouts are reloaded and the canvas shows the new layout's masks.
 */

import { addSample, createLayout, deleteSample, listSamples, renderUrl, sampleMaskUrl, trainLayout } from "../api/client.js";
import { JOB_KINDS } from "../api/jobs.js";
import { encodeIndexedPng } from "../mask/codec.js";
import { errorSlot, guarded } from "./errors.js";
import { ProgressView } from "./jobs.js";
import { currentLayout, describeView, paletteOf, viewOfRecord } from "./state.js";

const THUMBNAIL_SIDE = 64;

/** "#rrggbb" → [r, g, b]. */
export const rgbOfHex = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** A colour for the n-th new class, far from black and from each other. */
const newClassColour = (n) => ["#ff3b8d", "#30e0c0", "#ffd23f", "#8a5cff", "#ff8c1a"][n % 5];

export class LayoutsPanel {
  #state;
  #canvas;
  #viewer;
  #tracker;
  #refreshLayouts;
  #el;
  #formErrors;
  #sampleErrors;
  #trainErrors;
  #progress;

  /**
   * @param {object} deps { state, canvas, viewer, tracker, refreshLayouts }
   * @param {object} el elements: form, name, base, classes, addClass, formError, teach, teachTitle, sampleAdd, sampleUpload, sampleError, samples, train, trainError, trainProgress
   */
  constructor({ state, canvas, viewer, tracker, refreshLayouts }, el) {
    this.#state = state;
    this.#canvas = canvas;
    this.#viewer = viewer;
    this.#tracker = tracker;
    this.#refreshLayouts = refreshLayouts;
    this.#el = el;
    this.#formErrors = errorSlot(el.formError);
    this.#sampleErrors = errorSlot(el.sampleError);
    this.#trainErrors = errorSlot(el.trainError);
    this.#progress = new ProgressView(el.trainProgress, "Training");

    this.#addClassRow();
    el.addClass.addEventListener("click", () => this.#addClassRow());
    el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(this.#formErrors, () => this.#create())();
    });
    el.sampleAdd.addEventListener("click", guarded(this.#sampleErrors, () => this.#addPaintedSample()));
    el.sampleUpload.addEventListener("change", guarded(this.#sampleErrors, () => this.#addUploadedSample()));
    el.train.addEventListener("click", guarded(this.#trainErrors, () => this.#train()));
    tracker.onUpdate((job) => this.#onJob(job));
    state.on("layouts", () => this.#showBases());
    state.on("layoutId", () => this.#showTeach());
  }

  #addClassRow() {
    const index = this.#el.classes.children.length;
    const row = document.createElement("div");
    row.className = "row class-row";
    const name = document.createElement("input");
    name.type = "text";
    name.maxLength = 48;
    name.required = true;
    name.placeholder = "class name";
    name.setAttribute("aria-label", `Name of new class ${index + 1}`);
    name.dataset.role = "class-name";
    const colour = document.createElement("input");
    colour.type = "color";
    colour.value = newClassColour(index);
    colour.setAttribute("aria-label", `Colour of new class ${index + 1}`);
    colour.dataset.role = "class-colour";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove new class ${index + 1}`);
    remove.addEventListener("click", () => {
      if (this.#el.classes.children.length > 1) row.remove();
    });
    row.append(name, colour, remove);
    this.#el.classes.append(row);
  }

  async #create() {
    const classes = [...this.#el.classes.querySelectorAll(".class-row")].map((row) => ({
      name: row.querySelector('[data-role="class-name"]').value.trim(),
      color: rgbOfHex(row.querySelector('[data-role="class-colour"]').value),
    }));
    const name = this.#el.name.value.trim();
    if (!name) throw new Error("Give the layout a name.");
    if (classes.some((cls) => !cls.name)) throw new Error("Give every new class a name.");
    const layout = await createLayout({ name, base: this.#el.base.value, classes });
    await this.#refreshLayouts();
    this.#state.set({ layoutId: layout.id });
    this.#el.form.reset();
    this.#el.classes.replaceChildren();
    this.#addClassRow();
    this.#el.form.closest("details").open = false;
  }

  /** The custom layout shown, and the face and view the canvas holds; throws when samples cannot be added. */
  #sampleTarget() {
    const layout = currentLayout(this.#state);
    const loaded = this.#viewer.loaded;
    if (!layout || layout.builtin) throw new Error("Pick or create a layout of your own first.");
    if (!loaded || loaded.layoutId !== layout.id || loaded.faceId !== this.#state.get("faceId")) {
      throw new Error("Wait until the face has finished loading.");
    }
    return { layout, faceId: loaded.faceId, view: loaded.view };
  }

  async #addPaintedSample() {
    const { layout, faceId, view } = this.#sampleTarget();
    const png = await encodeIndexedPng(this.#canvas.getLabels(), paletteOf(layout));
    await addSample(layout.id, faceId, view, png);
    await this.#showSamples();
  }

  async #addUploadedSample() {
    const file = this.#el.sampleUpload.files?.[0];
    if (!file) return;
    try {
      const { layout, faceId, view } = this.#sampleTarget();
      await addSample(layout.id, faceId, view, file);
      await this.#showSamples();
    } finally {
      this.#el.sampleUpload.value = "";
    }
  }

  async #train() {
    const layout = currentLayout(this.#state);
    if (!layout || layout.builtin) throw new Error("Pick or create a layout of your own first.");
    const job = await trainLayout(layout.id);
    this.#progress.show(job);
    this.#tracker.track(job);
  }

  async #onJob(job) {
    if (job.kind !== JOB_KINDS.train || job.params?.layout_id !== this.#state.get("layoutId")) return;
    this.#progress.show(job);
    this.#el.train.disabled = !["succeeded", "failed", "cancelled"].includes(job.status);
    if (job.status === "succeeded") {
      await this.#refreshLayouts();
      this.#viewer.load();
    }
  }

  #showBases() {
    const bases = (this.#state.get("layouts") ?? []).filter((layout) => layout.can_predict);
    const chosen = this.#el.base.value;
    this.#el.base.replaceChildren(
      ...bases.map((layout) => {
        const option = document.createElement("option");
        option.value = layout.name;
        option.textContent = `${layout.name} (${layout.classes.length} classes)`;
        return option;
      }),
    );
    if (bases.some((layout) => layout.name === chosen)) this.#el.base.value = chosen;
    this.#showTeach();
  }

  #showTeach() {
    const layout = currentLayout(this.#state);
    const custom = Boolean(layout && !layout.builtin);
    this.#el.teach.hidden = !custom;
    if (!custom) return;
    const status = layout.trained ? "trained" : "not trained yet";
    this.#el.teachTitle.textContent = `Samples of ${layout.name} (${status})`;
    this.#el.train.disabled = layout.training;
    guarded(this.#sampleErrors, () => this.#showSamples())();
  }

  async #showSamples() {
    const layout = currentLayout(this.#state);
    if (!layout || layout.builtin) return;
    const samples = await listSamples(layout.id);
    if (currentLayout(this.#state)?.id !== layout.id) return;
    this.#el.samples.replaceChildren(...samples.map((sample) => this.#sampleItem(layout, sample)));
    this.#el.train.textContent = `Train on ${samples.length} sample${samples.length === 1 ? "" : "s"}`;
  }

  #sampleItem(layout, sample) {
    const view = viewOfRecord(sample.view);
    const item = document.createElement("li");
    item.dataset.sampleId = sample.id;
    const face = document.createElement("img");
    face.src = renderUrl(sample.face_id, view, { kind: "rgb", size: THUMBNAIL_SIDE });
    face.alt = `Face ${sample.face_id}`;
    const mask = document.createElement("img");
    mask.src = sampleMaskUrl(layout.id, sample.id);
    mask.alt = "Its mask";
    const caption = document.createElement("span");
    caption.textContent = describeView(view);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete the sample of face ${sample.face_id}, ${describeView(view)}`);
    remove.addEventListener(
      "click",
      guarded(this.#sampleErrors, async () => {
        await deleteSample(layout.id, sample.id);
        await this.#showSamples();
      }),
    );
    item.append(face, mask, caption, remove);
    return item;
  }
}
