/**
 * Following a job from the server: its kinds, and its transport (no DOM here).
 *
 * `followJob(job, onJob, onError)` follows a job over its WebSocket
 * (`/jobs/{id}/events`), applying each event to the record (`applyEvent`), and
 * falls back to polling `GET /jobs/{id}` when the socket fails or closes before
 * the job ends; `onJob(record)` gets every new state, `onError(error)` every
 * polling failure (after a 404, or a 401: no valid session, it stops),
 * `onError(null)` a recovery.
 */

import { getJob, isNotLoggedIn, isTerminal, jobEventsUrl } from "./client.js";

/** The job kinds of the API (`ffedit.service.tasks`). */
export const JOB_KINDS = Object.freeze({
  train: "train-layout",
  edit: "edit",
  export: "export",
  render: "render",
  mesh: "mesh",
});

/** What the page calls each kind. */
export const KIND_NAMES = Object.freeze({
  [JOB_KINDS.train]: "Training",
  [JOB_KINDS.edit]: "Edit",
  [JOB_KINDS.export]: "ZIP export",
  [JOB_KINDS.render]: "Large render",
  [JOB_KINDS.mesh]: "Mesh",
});

const POLL_MS = 1000;

/** A job with one event of its WebSocket applied. */
export function applyEvent(job, event) {
  if (event.type === "progress") {
    const { step, total, losses, stage, preview_png: preview } = event;
    const { stage: _previousStage, ...previous } = job.progress ?? {};
    const progress = { ...previous, step, total, losses };
    if (stage) progress.stage = stage;
    if (preview) progress.preview_png = preview;
    return { ...job, status: job.status === "queued" ? "running" : job.status, progress };
  }
  if (event.type === "status") {
    return { ...job, status: event.status, result: event.result ?? job.result, error: event.error ?? job.error };
  }
  return job;
}

/** Follow `job` (a record) until it ends: `onJob(record)` after every change. */
export function followJob(job, onJob, onError) {
  let current = job;
  const update = (next) => {
    current = next;
    onJob(next);
  };
  let socket;
  try {
    socket = new WebSocket(jobEventsUrl(job.id));
  } catch {
    pollJob(() => current, update, onError);
    return;
  }
  socket.addEventListener("message", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (event.type === "error") return; // the close below falls back to polling
    update(applyEvent(current, event));
  });
  socket.addEventListener("close", () => {
    if (!isTerminal(current.status)) pollJob(() => current, update, onError);
  });
}

async function pollJob(current, update, onError) {
  const { id } = current();
  while (!isTerminal(current().status)) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      update(await getJob(id));
      onError(null);
    } catch (error) {
      onError(error);
      if (error.status === 404 || isNotLoggedIn(error)) return;
    }
  }
}
