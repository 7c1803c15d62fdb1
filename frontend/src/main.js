/**
 * Wiring only: find the page's elements, build the canvas and the panels, log
 * in with the start-up link's token when the address has one, and load the
 * model info, the layouts, the face remembered from the last visit (or a new
 * one) and the jobs still running; without a valid session the page shows how
 * to log in instead (multi-user mode: a login form, after which it goes on). `window.ffedit` exposes the pieces for the browser tests
 * and for poking around in the console.
 */

import { createFaceFromSeed, getFace, getHealth, getModel, getSession, isNotLoggedIn, listLayouts } from "./api/client.js";
import { logInFromAddress } from "./api/session.js";
import { MaskCanvas } from "./canvas/maskCanvas.js";
import { initDownloadPanel } from "./ui/download.js";
import { initMeshPanel } from "./ui/mesh.js";
import { EditPanel } from "./ui/edit.js";
import { errorSlot, messageOf } from "./ui/errors.js";
import { initFacePanel } from "./ui/face.js";
import { JobTracker } from "./ui/jobs.js";
import { LayoutsPanel } from "./ui/layouts.js";
import { askToLogIn, showLoggedOut, showSession } from "./ui/login.js";
import { initTokensPanel } from "./ui/tokens.js";
import { AppState } from "./ui/state.js";
import { Tools } from "./ui/tools.js";
import { Viewer } from "./ui/viewer.js";

const DEFAULT_LAYOUT = "base15";

const $ = (id) => document.getElementById(id);
const radios = (name) => [...document.querySelectorAll(`input[name="${name}"]`)];

const state = new AppState();
const canvas = new MaskCanvas($("mask-canvas"));
const tracker = new JobTracker($("job-list"), $("jobs-error"), state);

async function refreshLayouts() {
  state.set({ layouts: await listLayouts() });
}

const viewer = new Viewer(state, canvas, {
  named: $("view-named"),
  yaw: $("view-yaw"),
  yawValue: $("view-yaw-value"),
  pitch: $("view-pitch"),
  pitchValue: $("view-pitch-value"),
  orbit: $("view-orbit"),
  modes: radios("view-mode"),
  opacity: $("view-opacity"),
  layout: $("view-layout"),
  error: $("view-error"),
  status: $("canvas-status"),
});
canvas.onError((message) => errorSlot($("canvas-error")).show(message));
canvas.onChange(() => errorSlot($("canvas-error")).clear());

const tools = new Tools(state, canvas, {
  palette: $("palette"),
  tools: radios("tool"),
  size: $("tool-size"),
  sizeValue: $("tool-size-value"),
  protect: $("tool-protect"),
  undo: $("tool-undo"),
  redo: $("tool-redo"),
  reset: $("tool-reset"),
  zoomIn: $("tool-zoom-in"),
  zoomOut: $("tool-zoom-out"),
  fit: $("tool-fit"),
  error: $("tool-error"),
});

initFacePanel(state, {
  random: $("face-random"),
  seed: $("face-seed"),
  seedLoad: $("face-seed-load"),
  latent: $("face-latent"),
  error: $("face-error"),
  info: $("face-info"),
});

const layouts = new LayoutsPanel(
  { state, canvas, viewer, tracker, refreshLayouts },
  {
    form: $("layout-form"),
    name: $("layout-name"),
    base: $("layout-base"),
    classes: $("layout-classes"),
    addClass: $("layout-add-class"),
    formError: $("layout-form-error"),
    teach: $("layout-teach"),
    teachTitle: $("layout-teach-title"),
    sampleAdd: $("sample-add"),
    sampleUpload: $("sample-upload"),
    sampleError: $("sample-error"),
    samples: $("sample-list"),
    train: $("layout-train"),
    trainError: $("train-error"),
    trainProgress: $("train-progress"),
  },
);

const edit = new EditPanel(
  { state, canvas, viewer, tracker },
  {
    steps: $("edit-steps"),
    start: $("edit-start"),
    error: $("edit-error"),
    progress: $("edit-progress"),
    result: $("edit-result"),
    outcome: $("edit-outcome"),
    painted: $("edit-painted"),
    reached: $("edit-reached"),
    orbit: $("edit-orbit"),
    continue: $("edit-continue"),
    undo: $("edit-undo"),
  },
);

initMeshPanel({ state, tracker }, {
  glb: $("download-glb"),
  ply: $("download-ply"),
  progress: $("mesh-progress"),
  preview: $("mesh-preview"),
  status: $("mesh-status"),
  error: $("mesh-error"),
});
initDownloadPanel({ state, canvas, viewer, tracker }, {
  zip: $("download-zip"),
  progress: $("download-progress"),
  render: $("download-render"),
  mask: $("download-mask"),
  status: $("download-status"),
  error: $("download-error"),
});

/** The face to start with: the one of the last visit when it still exists, else seed 0. */
async function startingFace() {
  const remembered = state.remembered("faceId");
  if (remembered) {
    try {
      return await getFace(remembered);
    } catch {
      // gone: start afresh
    }
  }
  return createFaceFromSeed(0);
}

const loggedOut = { login: $("login"), app: $("app"), status: $("model-status") };

const loginForm = {
  form: $("login-form"),
  name: $("login-name"),
  password: $("login-password"),
  error: $("login-error"),
  app: $("app"),
  status: $("model-status"),
};

/** Log in with the address's token, if it has one; false (and the page says how to log in)
 *  when the server refused it. */
async function logIn() {
  try {
    await logInFromAddress();
    return true;
  } catch (error) {
    if (!isNotLoggedIn(error)) throw error;
    showLoggedOut(loggedOut, true);
    return false;
  }
}

/** Who is logged in; without a session, multi-user mode asks for a name and password (and
 *  then answers), single-user mode says how to log in (null). */
async function session() {
  try {
    return await getSession();
  } catch (error) {
    if (!isNotLoggedIn(error)) throw error;
  }
  if (!(await getHealth()).users) {
    showLoggedOut(loggedOut, false);
    return null;
  }
  await askToLogIn(loginForm);
  return getSession();
}

async function start() {
  const status = $("model-status");
  try {
    if (!(await logIn())) return;
    const current = await session();
    if (current === null) return;
    showSession(current, { user: $("session-user"), logOutButton: $("log-out") });
    if (current.users) {
      await initTokensPanel({
        panel: $("tokens-panel"),
        form: $("token-form"),
        name: $("token-name"),
        secret: $("token-secret"),
        list: $("token-list"),
        error: $("tokens-error"),
      });
    }
    const model = await getModel();
    state.set({ model, view: { view: model.views.includes("front") ? "front" : model.views[0] } });
    status.textContent = `Model ${model.source.split(/[\\/]/).pop()} on ${model.device} · masks ${model.mask_resolution}×${model.mask_resolution}`;
    await refreshLayouts();
    const known = state.get("layouts");
    const remembered = state.remembered("layoutId");
    const layout = known.find((item) => item.id === remembered) ?? known.find((item) => item.name === DEFAULT_LAYOUT) ?? known[0];
    state.set({ layoutId: layout.id });
    const face = await startingFace();
    state.set({ face, faceId: face.id });
    await tracker.restore();
  } catch (error) {
    if (isNotLoggedIn(error)) {
      showLoggedOut(loggedOut, false);
      return;
    }
    status.textContent = `The app could not start: ${messageOf(error)}`;
    status.className = "error";
  }
}

window.ffedit = { state, canvas, viewer, tools, layouts, edit, tracker };
start();
