/**
 * Jobs (training, edits): live progress, cancel, and finding them again after a reload.
 *
 * `JobTracker.track(job)` remembers the job id in localStorage, follows the job
 * (`followJob` of api/jobs.js: its WebSocket, or polling), lists it with what it
 * works on ("Edit of face …", "Training layout “…”") and calls the listeners
 * registered with `onUpdate(listener)` with the job record after every event.
 * `restore()` asks the server for the remembered jobs after a reload: the
 * recent ones are listed again, unfinished ones are followed, and jobs that
 * ended while the page was away are reported to the listeners once.
 *
 * `ProgressView` shows one job: a progress bar, "step n of N" with the losses
 * while it runs, the preview image, the status, and a Cancel button.
 */

import { cancelJob, getJob, isTerminal } from "../api/client.js";
import { JOB_KINDS, KIND_NAMES, followJob } from "../api/jobs.js";
import { errorSlot, guarded, messageOf } from "./errors.js";

const STORAGE_KEY = "ffedit.jobs";
/** Jobs remembered across reloads (the newest). */
const REMEMBERED_JOBS = 20;

/** What each job kind's reported terms measure, in words (terms not listed are not shown). */
const TERM_NAMES = Object.freeze({
  [JOB_KINDS.edit]: {
    painted: "matching the painted pixels",
    keep: "keeping the rest of the mask",
    guard: "keeping the other views",
    cross_entropy: "matching the painted mask",
    overlap: "overlap with the painted mask",
    mse: "keeping the colours",
    ssim: "keeping the structure",
    lpips: "keeping the look",
  },
  [JOB_KINDS.train]: {
    cross_entropy: "matching the samples",
    overlap: "overlap with the samples",
  },
});

/** What one step of each kind is called ("Step" when not listed). */
const STEP_NAMES = Object.freeze({
  [JOB_KINDS.export]: "Orbit frame",
  [JOB_KINDS.render]: "Band",
  [JOB_KINDS.mesh]: "Step",
});

/**
 * "Step 3 of 10 · matching the painted pixels 0.512, keeping the rest of the mask 0.003"
 * for a job's progress: the kind's terms in words (lower is better), those at 0 left out.
 * Steps of a stage other than the job's main ones are named by it: "Checking the
 * training samples: 2 of 10". Nothing once the job has ended (its status says how).
 */
export function describeProgress(job) {
  if (isTerminal(job.status)) return "";
  const { step, total, losses, stage } = job.progress ?? {};
  const parts = [];
  if (stage && step !== undefined) parts.push(`${stage[0].toUpperCase()}${stage.slice(1)}: ${step} of ${total}`);
  else if (step !== undefined) parts.push(`${STEP_NAMES[job.kind] ?? "Step"} ${step} of ${total}`);
  const names = TERM_NAMES[job.kind] ?? {};
  const terms = Object.entries(losses ?? {})
    .filter(([name, value]) => name in names && Number(value) !== 0)
    .map(([name, value]) => `${names[name]} ${Number(value).toFixed(3)}`);
  if (terms.length > 0) parts.push(terms.join(", "));
  return parts.join(" · ");
}

/**
 * What a job works on, from its `params`: "Edit of face f1", "Training layout “spots”"
 * (`layouts`: the layout records, for the name).
 */
export function describeSubject(job, layouts = []) {
  const kind = KIND_NAMES[job.kind] ?? job.kind;
  const { face_id: faceId, layout_id: layoutId } = job.params ?? {};
  if (job.kind === JOB_KINDS.train && layoutId) {
    const name = layouts.find((layout) => layout.id === layoutId)?.name;
    return name ? `${kind} layout “${name}”` : `${kind} layout ${layoutId}`;
  }
  return faceId ? `${kind} of face ${faceId}` : kind;
}

/** A plain sentence for a job's status; `kind` names the job (by its kind unless told: "Training"). */
export function describeStatus(job, kind = KIND_NAMES[job.kind] ?? job.kind) {
  switch (job.status) {
    case "queued":
      return `${kind} is waiting for its turn.`;
    case "running":
      return `${kind} is running.`;
    case "succeeded":
      return `${kind} finished.`;
    case "cancelled":
      return `${kind} was cancelled.`;
    default:
      return `${kind} failed: ${messageOf(job.error ?? "no reason given")}`;
  }
}

export class JobTracker {
  #jobs = new Map();
  #listeners = new Set();
  #list;
  #errors;
  #storage;
  #state;

  /**
   * @param {HTMLElement} list the <ul> listing jobs
   * @param {HTMLElement} errorElement where problems with following jobs are shown
   * @param {AppState} state the page's state (its `layouts` name the layouts trained)
   */
  constructor(list, errorElement, state, storage = globalThis.localStorage) {
    this.#list = list;
    this.#errors = errorSlot(errorElement);
    this.#state = state;
    this.#storage = storage;
  }

  /** Call `listener(job)` after every change of any job. */
  onUpdate(listener) {
    this.#listeners.add(listener);
  }

  /**
   * Follow a job (a record from the API) until it ends. `announce` false: a job
   * whose end was already reported is only listed.
   */
  track(job, announce = true) {
    if (this.#jobs.has(job.id)) return;
    this.#jobs.set(job.id, { job, row: this.#makeRow(job) });
    this.#remember();
    if (announce || !isTerminal(job.status)) this.#emit(job);
    if (!isTerminal(job.status)) this.#follow(job.id);
  }

  /** List and follow again the jobs remembered before a reload. */
  async restore() {
    for (const { id, seen } of this.#remembered()) {
      try {
        this.track(await getJob(id), !seen);
      } catch (error) {
        if (error.status !== 404) this.#errors.show(`Job ${id} could not be found again: ${messageOf(error)}`);
      }
    }
    this.#remember();
  }

  /** The current record of a followed job, or undefined. */
  get(id) {
    return this.#jobs.get(id)?.job;
  }

  /** [{ id, seen }]: the remembered jobs, oldest first; `seen` when their end was reported. */
  #remembered() {
    try {
      const entries = JSON.parse(this.#storage?.getItem(STORAGE_KEY) ?? "[]");
      return Array.isArray(entries) ? entries.filter((entry) => typeof entry?.id === "string") : [];
    } catch {
      return [];
    }
  }

  #remember() {
    const entries = [...this.#jobs.values()].map(({ job }) => ({ id: job.id, seen: isTerminal(job.status) }));
    this.#storage?.setItem(STORAGE_KEY, JSON.stringify(entries.slice(-REMEMBERED_JOBS)));
  }

  #follow(id) {
    followJob(
      this.#jobs.get(id).job,
      (job) => this.#update(job),
      (error) => (error ? this.#errors.show(`Lost track of a job: ${messageOf(error)}`) : this.#errors.clear()),
    );
  }

  #update(job) {
    const entry = this.#jobs.get(job.id);
    const wasTerminal = isTerminal(entry.job.status);
    entry.job = job;
    this.#renderRow(entry.row, job);
    if (wasTerminal) return;
    this.#emit(job);
    if (isTerminal(job.status)) this.#remember();
  }

  #emit(job) {
    for (const listener of this.#listeners) listener(job);
  }

  #makeRow(job) {
    const row = document.createElement("li");
    row.dataset.jobId = job.id;
    this.#list.prepend(row);
    this.#renderRow(row, job);
    return row;
  }

  #renderRow(row, job) {
    row.replaceChildren();
    const text = document.createElement("span");
    const subject = describeSubject(job, this.#state.get("layouts"));
    text.textContent = `${describeStatus(job, subject)} ${describeProgress(job)}`.trim();
    row.append(text);
    row.dataset.status = job.status;
    if (!isTerminal(job.status)) {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = "Cancel";
      cancel.setAttribute("aria-label", `Cancel: ${subject}`);
      cancel.addEventListener("click", guarded(this.#errors, () => cancelJob(job.id)));
      row.append(cancel);
    }
  }
}

/** One job's progress inside a panel: bar, step and losses, preview, status, Cancel. */
export class ProgressView {
  #root;
  #bar;
  #text;
  #preview;
  #status;
  #cancel;
  #errors;
  #jobId = null;

  constructor(container, label) {
    this.#root = document.createElement("div");
    this.#root.className = "progress";
    this.#root.hidden = true;
    this.#bar = document.createElement("progress");
    this.#bar.setAttribute("aria-label", label);
    this.#text = document.createElement("p");
    this.#text.className = "small";
    this.#text.dataset.role = "progress-text";
    this.#preview = document.createElement("img");
    this.#preview.alt = `${label}: preview`;
    this.#preview.hidden = true;
    this.#status = document.createElement("p");
    this.#status.dataset.role = "progress-status";
    this.#status.setAttribute("aria-live", "polite");
    this.#cancel = document.createElement("button");
    this.#cancel.type = "button";
    this.#cancel.textContent = "Cancel";
    const error = document.createElement("p");
    error.className = "error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    this.#errors = errorSlot(error);
    this.#cancel.addEventListener(
      "click",
      guarded(this.#errors, () => this.#jobId && cancelJob(this.#jobId)),
    );
    this.#root.append(this.#bar, this.#text, this.#preview, this.#status, this.#cancel, error);
    container.append(this.#root);
  }

  /** The job shown (its id). */
  get jobId() {
    return this.#jobId;
  }

  /** Show a job's state. */
  show(job) {
    this.#jobId = job.id;
    this.#root.hidden = false;
    const { step, total, preview_png: preview } = job.progress ?? {};
    if (total) {
      this.#bar.max = total;
      this.#bar.value = step ?? 0;
    } else if (job.status === "succeeded") {
      this.#bar.max = 1;
      this.#bar.value = 1;
    } else {
      this.#bar.removeAttribute("value");
    }
    this.#text.textContent = describeProgress(job);
    if (preview) {
      this.#preview.src = `data:image/png;base64,${preview}`;
      this.#preview.hidden = false;
    }
    this.#status.textContent = describeStatus(job);
    this.#status.className = job.status === "failed" ? "error" : "";
    this.#cancel.hidden = isTerminal(job.status);
  }
}
