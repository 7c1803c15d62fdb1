/**
 * The layouts panel: create a layout (a base layout plus new classes with names
 * and colours), teach it from samples and train it.
 *
 * A sample is the current face at the current view with its mask: either the
 * mask painted on the canvas (which starts from the prediction: the base
 * layout's classes, or the layout's own adapter once trained), or an uploaded
 * annotated PNG (indexed, or RGB in the layout's colours; checked by the
 * server). A line under the title names the face and view new samples belong
 * to, and an upload is only added once the question naming them is answered
 * (Add / Cancel). The sample list shows each sample's face and mask. Training
 * runs as a job with live progress (step, losses, preview) and Cancel; once it
 * succeeds the layouts are reloaded and the canvas shows the new layout's masks,
 * and a table says per class how well the training samples are reproduced
 * (IoU), with a plain warning for each new class that was not learned.
 */

import { addSample, createLayout, deleteSample, listSamples, renderUrl, sampleMaskUrl, trainLayout } from "../api/client.js";
import { JOB_KINDS } from "../api/jobs.js";
import { encodeIndexedPng } from "../mask/codec.js";
import { errorSlot, guarded } from "./errors.js";
import { ProgressView } from "./jobs.js";
import { currentLayout, describeView, paletteOf, viewOfRecord } from "./state.js";

const THUMBNAIL_SIDE = 64;
/** A new class the server's report marks as not learned (`learned`: IoU ≥ its `LEARNED_IOU`). */
const notLearned = (cls) => cls.new && !cls.learned;

/** "face f1 (seed 3)": a face by id, with where it comes from when its record is known. */
export function faceWords(faceId, face) {
  const origin = face?.id === faceId ? (face.origin ?? {}) : {};
  if (origin.edit) return `face ${faceId} (edited from face ${face.parent_id})`;
  if (origin.seed !== undefined) return `face ${faceId} (seed ${origin.seed})`;
  if (origin.upload) return `face ${faceId} (from the latent ${origin.upload})`;
  return `face ${faceId}`;
}

/** "at the left view" or "at yaw 20°, pitch 0°". */
export const atView = (view) => (view?.view ? `at the ${view.view} view` : `at ${describeView(view)}`);

/** An IoU for people: "0.43", or "–" when the class is neither painted nor predicted. */
export const formatIou = (iou) => (iou === null || iou === undefined ? "–" : Number(iou).toFixed(2));

/**
 * Plain warnings for the new classes of a training report that were not learned
 * (`classes`: the report's [{ name, new, iou, painted_pixels, learned }]) at a
 * mask resolution of `resolution`².
 */
export function trainingWarnings(classes, resolution) {
  return (classes ?? [])
    .filter(notLearned)
    .map((cls) =>
      cls.painted_pixels === 0
        ? `${cls.name}: not painted on any sample, so there was nothing to learn. Paint it on the samples and train again.`
        : `${cls.name}: not learned (IoU ${formatIou(cls.iou ?? 0)} on its own samples). ` +
          "The adapter reads the face's 3D shape (its geometry features, density and base classes) and where on the head each point lies, " +
          "not its colours (training varies them): marks that are colour or texture only, " +
          `or smaller than a few pixels at ${resolution}², may not be learnable. ` +
          "Paint larger regions that follow the face's shape, or add samples.",
    );
}

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
  #target;
  #confirm;
  #question;
  #pending = null;
  #report;

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
    this.#target = this.#makeTargetLine();
    this.#confirm = this.#makeUploadQuestion();
    this.#report = document.createElement("div");
    this.#report.className = "fit-report";
    this.#report.dataset.role = "training-report";
    this.#report.hidden = true;
    el.trainProgress.after(this.#report);

    this.#addClassRow();
    el.addClass.addEventListener("click", () => this.#addClassRow());
    el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(this.#formErrors, () => this.#create())();
    });
    el.sampleAdd.addEventListener("click", guarded(this.#sampleErrors, () => this.#addPaintedSample()));
    el.sampleUpload.addEventListener("change", guarded(this.#sampleErrors, () => this.#askUploadedSample()));
    el.train.addEventListener("click", guarded(this.#trainErrors, () => this.#train()));
    tracker.onUpdate((job) => this.#onJob(job));
    state.on("layouts", () => this.#showBases());
    state.on("layoutId", () => this.#showTeach());
    state.on("faceId", () => this.#showTarget());
    state.on("view", () => this.#showTarget());
    state.on("face", () => this.#showTarget());
    viewer.onLoaded(() => this.#showTarget());
  }

  /** The line under the title naming the face and view new samples belong to. */
  #makeTargetLine() {
    const line = document.createElement("p");
    line.className = "small";
    line.dataset.role = "sample-target";
    line.setAttribute("aria-live", "polite");
    this.#el.teachTitle.after(line);
    return line;
  }

  #showTarget() {
    const loaded = this.#viewer.loaded;
    const current = loaded && loaded.faceId === this.#state.get("faceId");
    this.#target.textContent = current
      ? `New samples are of ${faceWords(loaded.faceId, this.#state.get("face"))} ${atView(loaded.view)}.`
      : "New samples are of the face shown, once it has loaded.";
  }

  /** "Add this mask as a sample of face … at the left view?" with Add and Cancel, after the upload control. */
  #makeUploadQuestion() {
    const box = document.createElement("div");
    box.className = "confirm";
    box.dataset.role = "upload-question";
    box.setAttribute("role", "group");
    box.hidden = true;
    const question = document.createElement("p");
    question.id = "sample-upload-question";
    box.setAttribute("aria-labelledby", question.id);
    const add = document.createElement("button");
    add.type = "button";
    add.textContent = "Add";
    add.dataset.role = "upload-add";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.dataset.role = "upload-cancel";
    const buttons = document.createElement("div");
    buttons.className = "row";
    buttons.append(add, cancel);
    box.append(question, buttons);
    add.addEventListener("click", guarded(this.#sampleErrors, () => this.#addUploadedSample()));
    cancel.addEventListener("click", () => this.#closeUploadQuestion());
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        this.#closeUploadQuestion();
      }
    });
    this.#el.sampleUpload.closest(".row").after(box);
    this.#question = question;
    return box;
  }

  #closeUploadQuestion(focusUpload = true) {
    this.#pending = null;
    this.#confirm.hidden = true;
    this.#el.sampleUpload.value = "";
    if (focusUpload) this.#el.sampleUpload.focus();
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
    this.#el.classes.replaceChildren(); // before the reset, which would blank the colour inputs
    this.#el.form.reset();
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

  /** A file was chosen: ask whether to add it to the face and view shown now (named in the question). */
  #askUploadedSample() {
    const file = this.#el.sampleUpload.files?.[0];
    if (!file) return;
    let target;
    try {
      target = this.#sampleTarget();
    } catch (error) {
      this.#closeUploadQuestion(false);
      throw error;
    }
    this.#pending = { file, ...target };
    const face = faceWords(target.faceId, this.#state.get("face"));
    this.#question.textContent = `Add the mask “${file.name}” as a sample of ${face} ${atView(target.view)}?`;
    this.#confirm.hidden = false;
    this.#confirm.querySelector('[data-role="upload-add"]').focus();
  }

  /** Add the uploaded mask to the face and view the question named. */
  async #addUploadedSample() {
    const pending = this.#pending;
    if (!pending) return;
    try {
      await addSample(pending.layout.id, pending.faceId, pending.view, pending.file);
      await this.#showSamples();
    } finally {
      this.#closeUploadQuestion();
    }
  }

  async #train() {
    const layout = currentLayout(this.#state);
    if (!layout || layout.builtin) throw new Error("Pick or create a layout of your own first.");
    const job = await trainLayout(layout.id);
    this.#showReport(null);
    this.#progress.show(job);
    this.#tracker.track(job);
  }

  #onJob(job) {
    if (job.kind !== JOB_KINDS.train || job.params?.layout_id !== this.#state.get("layoutId")) return;
    this.#progress.show(job);
    this.#el.train.disabled = !["succeeded", "failed", "cancelled"].includes(job.status);
    if (job.status === "succeeded") {
      this.#showReport(job.result);
      guarded(this.#trainErrors, async () => {
        await this.#refreshLayouts();
        this.#viewer.load();
      })();
    }
  }

  /** The per-class table of a training report (and warnings for new classes not learned); hidden without one. */
  #showReport(report) {
    const classes = report?.classes ?? [];
    this.#report.hidden = classes.length === 0;
    if (classes.length === 0) {
      this.#report.replaceChildren();
      return;
    }
    const resolution = this.#state.get("model")?.mask_resolution ?? 128;
    const samples = report.samples ?? "its";
    const heading = document.createElement("p");
    heading.textContent = `How well the trained layout reproduces its ${samples} training sample${samples === 1 ? "" : "s"} (IoU: 1 is exact, 0 is none):`;
    const added = classes.filter((cls) => cls.new);
    const table = this.#classTable(added, "New classes");
    const warnings = document.createElement("ul");
    warnings.className = "warnings";
    warnings.dataset.role = "training-warnings";
    for (const sentence of trainingWarnings(classes, resolution)) {
      const item = document.createElement("li");
      item.textContent = sentence;
      warnings.append(item);
    }
    warnings.hidden = warnings.children.length === 0;
    const base = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "The base layout's classes";
    base.append(summary, this.#classTable(classes.filter((cls) => !cls.new), "Base classes"));
    this.#report.replaceChildren(heading, table, warnings, ...(classes.length > added.length ? [base] : []));
  }

  #classTable(classes, caption) {
    const table = document.createElement("table");
    const title = document.createElement("caption");
    title.className = "visually-hidden";
    title.textContent = caption;
    const head = document.createElement("tr");
    for (const text of ["Class", "IoU", "Painted pixels", "Predicted pixels"]) {
      const cell = document.createElement("th");
      cell.scope = "col";
      cell.textContent = text;
      head.append(cell);
    }
    const thead = document.createElement("thead");
    thead.append(head);
    const body = document.createElement("tbody");
    for (const cls of classes) {
      const row = document.createElement("tr");
      row.dataset.className = cls.name;
      if (notLearned(cls)) row.dataset.learned = "no";
      const name = document.createElement("th");
      name.scope = "row";
      name.textContent = cls.name;
      const cells = [formatIou(cls.iou), String(cls.painted_pixels), String(cls.predicted_pixels)].map((text) => {
        const cell = document.createElement("td");
        cell.textContent = text;
        return cell;
      });
      row.append(name, ...cells);
      body.append(row);
    }
    table.append(title, thead, body);
    return table;
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
    this.#showTarget();
    this.#showReport(layout.trained && !layout.training ? layout.training_report : null);
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
