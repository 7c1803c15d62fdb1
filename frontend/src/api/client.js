/**
 * The ffedit HTTP API, one function per endpoint of /api/v1 (written from the
 * server's OpenAPI schema, /openapi.json). No DOM here: functions take plain
 * values and return parsed JSON, `Blob`s or bytes.
 *
 * A view is `{ view: "front" | "left" | "right" }` or `{ yaw, pitch }` in
 * radians from the front view. Every function takes an optional `AbortSignal`
 * as its last argument, so a newer request can cancel an older one.
 *
 * Errors: an answer that is not 2xx raises `ApiError` whose `message` is a
 * plain sentence built from the server's `{"error", "detail"}`; a server that
 * cannot be reached raises `ApiError` with status 0; a 401 (`isNotLoggedIn`)
 * means the page has no valid session (see `./session.js`).
 *
 * Credentials: the browser sends the session cookie (HttpOnly, so no script
 * here reads it) with every request, `<img>` and WebSocket of the page; only
 * `createSession` sends the token itself.
 */

export const API_ROOT = "/api/v1";

/** A failed request: `status` (0 = no answer), `error` (short kind), `detail`, and a sentence. */
export class ApiError extends Error {
  constructor(status, error, detail) {
    super(sentenceOf(status, error, detail));
    this.name = "ApiError";
    this.status = status;
    this.error = error;
    this.detail = detail;
  }
}

/** A plain sentence for an error answer of the API. */
export function sentenceOf(status, error, detail) {
  let text;
  if (typeof detail === "string" && detail) {
    text = detail;
  } else if (Array.isArray(detail) && detail.length > 0) {
    text = detail.map((item) => `${fieldOf(item.loc)}${item.msg}`).join("; ");
  } else if (status === 0) {
    text = "the server could not be reached; is it running?";
  } else {
    text = `the server answered ${status}${error ? ` (${error})` : ""}`;
  }
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function fieldOf(loc) {
  const names = (loc ?? []).filter((part) => part !== "body" && part !== "query");
  return names.length > 0 ? `${names.join(".")}: ` : "";
}

/** Query string of the defined values of `params` (leading "?" when not empty). */
export function queryOf(params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** The query parameters of a view: `view`, or `yaw` and `pitch`. */
export function viewParams(view) {
  if (view?.view) return { view: view.view };
  return { yaw: view?.yaw ?? 0, pitch: view?.pitch ?? 0 };
}

function appendView(form, view) {
  for (const [key, value] of Object.entries(viewParams(view))) form.append(key, String(value));
}

/** True for the error of a request without a valid session or token (401). */
export const isNotLoggedIn = (error) => error?.status === 401;

async function request(method, path, { json, form, headers = {}, signal } = {}) {
  const init = { method, signal, headers };
  if (json !== undefined) {
    init.headers = { ...headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(`${API_ROOT}${path}`, init);
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError(0, "unreachable", null);
  }
  if (!response.ok) {
    let body = {};
    try {
      body = await response.json();
    } catch {
      // not JSON: the status says enough
    }
    throw new ApiError(response.status, body.error ?? "", body.detail ?? null);
  }
  return response;
}

const json = async (response) => (response.status === 204 ? null : response.json());
const bytes = async (response) => new Uint8Array(await response.arrayBuffer());
const id = encodeURIComponent;

// ---- session -----------------------------------------------------------------

/** Exchange the access token for the page's session cookie (the answer sets it). */
export const createSession = (token, signal) =>
  request("POST", "/session", { headers: { Authorization: `Bearer ${token}` }, signal }).then(json);

/** Multi-user mode: log in with a user name and password (the answer sets the cookie). */
export const logIn = (name, password, signal) =>
  request("POST", "/session", { json: { name, password }, signal }).then(json);

/** Who is logged in: `{ user, admin, users }` (`users`: the server has accounts). */
export const getSession = (signal) => request("GET", "/session", { signal }).then(json);

/** Log out: the cookie is cleared and, with accounts, the session ended on the server. */
export const logOut = (signal) => request("DELETE", "/session", { signal }).then(json);

// ---- personal API tokens (multi-user mode) ----------------------------------

export const listTokens = (signal) => request("GET", "/tokens", { signal }).then(json);
/** A new token `{ id, name, token, … }`: its secret `token` is in this answer only. */
export const createToken = (name, signal) => request("POST", "/tokens", { json: { name }, signal }).then(json);
export const revokeToken = (tokenId, signal) => request("DELETE", `/tokens/${id(tokenId)}`, { signal }).then(json);

// ---- system ------------------------------------------------------------------

export const getHealth = (signal) => request("GET", "/health", { signal }).then(json);
export const getModel = (signal) => request("GET", "/model", { signal }).then(json);

// ---- layouts -----------------------------------------------------------------

export const listLayouts = (signal) => request("GET", "/layouts", { signal }).then(json);
export const getLayout = (layoutId, signal) => request("GET", `/layouts/${id(layoutId)}`, { signal }).then(json);

/** New layout: `{ name, base, classes: [{ name, color: [r, g, b] }] }`. */
export const createLayout = (body, signal) => request("POST", "/layouts", { json: body, signal }).then(json);
export const deleteLayout = (layoutId, signal) => request("DELETE", `/layouts/${id(layoutId)}`, { signal }).then(json);

/** Add an annotated sample: the face seen from `view`, its mask PNG (`Blob` or bytes). */
export function addSample(layoutId, faceId, view, maskPng, signal) {
  const form = new FormData();
  form.append("face_id", faceId);
  appendView(form, view);
  form.append("mask", maskPng instanceof Blob ? maskPng : new Blob([maskPng], { type: "image/png" }), "mask.png");
  return request("POST", `/layouts/${id(layoutId)}/samples`, { form, signal }).then(json);
}

export const listSamples = (layoutId, signal) =>
  request("GET", `/layouts/${id(layoutId)}/samples`, { signal }).then(json);
export const getSample = (layoutId, sampleId, signal) =>
  request("GET", `/layouts/${id(layoutId)}/samples/${id(sampleId)}`, { signal }).then(json);
export const deleteSample = (layoutId, sampleId, signal) =>
  request("DELETE", `/layouts/${id(layoutId)}/samples/${id(sampleId)}`, { signal }).then(json);

/** URL of a sample's stored mask (an indexed PNG), for an <img>. */
export const sampleMaskUrl = (layoutId, sampleId) =>
  `${API_ROOT}/layouts/${id(layoutId)}/samples/${id(sampleId)}/mask`;

/** Start training the layout's adapter: the job. */
export const trainLayout = (layoutId, signal) =>
  request("POST", `/layouts/${id(layoutId)}/train`, { signal }).then(json);

// ---- faces -------------------------------------------------------------------

export const listFaces = (signal) => request("GET", "/faces", { signal }).then(json);
export const createFaceFromSeed = (seed, signal) => request("POST", "/faces", { json: { seed }, signal }).then(json);

/** A face from an uploaded latent (.npy of z or ws; a `File` or `Blob`). */
export function createFaceFromLatent(file, signal) {
  const form = new FormData();
  form.append("latent", file, file.name ?? "latent.npy");
  return request("POST", "/faces", { form, signal }).then(json);
}

export const getFace = (faceId, signal) => request("GET", `/faces/${id(faceId)}`, { signal }).then(json);
export const deleteFace = (faceId, signal) => request("DELETE", `/faces/${id(faceId)}`, { signal }).then(json);

/**
 * URL of a render PNG: `kind` rgb | mask | overlay, `size` for a small raw preview;
 * `stream`: renders of one stream supersede each other on the server (a newer one
 * replaces an older one that waits for the device).
 */
export function renderUrl(faceId, view, { kind = "rgb", layout, size, stream } = {}) {
  return `${API_ROOT}/faces/${id(faceId)}/render${queryOf({ ...viewParams(view), kind, layout, size, stream })}`;
}

/** The bytes of a base64 text. */
export function bytesOfBase64(text) {
  return Uint8Array.from(atob(text), (character) => character.charCodeAt(0));
}

/**
 * What the page shows of a view, from one render: `{ image }` (the super-resolved RGB,
 * a PNG `Blob`) and `{ mask }` (the layout's predicted mask, indexed PNG bytes).
 */
export async function viewFace(faceId, view, layout, { stream } = {}, signal) {
  const path = `/faces/${id(faceId)}/view${queryOf({ ...viewParams(view), layout, stream })}`;
  const answer = await request("GET", path, { signal }).then(json);
  return {
    image: new Blob([bytesOfBase64(answer.image_png)], { type: "image/png" }),
    mask: bytesOfBase64(answer.mask_png),
  };
}

/** A render as a `Blob` (PNG). */
export function renderFace(faceId, view, options = {}, signal) {
  const path = renderUrl(faceId, view, options).slice(API_ROOT.length);
  return request("GET", path, { signal }).then((response) => response.blob());
}

/** The layout's predicted mask at the model's mask resolution: indexed PNG bytes. */
export function predictedMask(faceId, view, layout, signal) {
  const path = `/faces/${id(faceId)}/mask${queryOf({ layout, ...viewParams(view) })}`;
  return request("GET", path, { signal }).then(bytes);
}

/** Start an edit toward `maskPng` painted in `layout` at `view`: the job. */
export function startEdit(faceId, { maskPng, layout, view, steps, overlapWeight, seed }, signal) {
  const form = new FormData();
  form.append("mask", new Blob([maskPng], { type: "image/png" }), "target.png");
  form.append("layout", layout);
  appendView(form, view);
  if (steps !== undefined) form.append("steps", String(steps));
  if (overlapWeight !== undefined) form.append("overlap_weight", String(overlapWeight));
  if (seed !== undefined) form.append("seed", String(seed));
  return request("POST", `/faces/${id(faceId)}/edits`, { form, signal }).then(json);
}

/** URL of the face's export ZIP. */
/** The export ZIP as a job (202): follow it like any job, then `downloadJobFile`. */
export const startExport = (faceId, layout, frames, signal) =>
  request("POST", `/faces/${id(faceId)}/exports${queryOf({ layout, frames })}`, { signal }).then(json);

/**
 * The face's surface as a mesh job (202), each vertex with its colour and class in
 * `layout`; `format` glb | ply. Follow it, then `downloadJobFile`.
 */
export const startMesh = (faceId, layout, format, signal) =>
  request("POST", `/faces/${id(faceId)}/meshes${queryOf({ layout, format })}`, { signal }).then(json);

/** A raw render above 256 px as a job (202): follow it, then `downloadJobFile` (a PNG). */
export const startRender = (faceId, view, { kind = "rgb", layout, size }, signal) =>
  request("POST", `/faces/${id(faceId)}/renders${queryOf({ ...viewParams(view), kind, layout, size })}`, {
    signal,
  }).then(json);

// ---- jobs --------------------------------------------------------------------

export const listJobs = (signal) => request("GET", "/jobs", { signal }).then(json);
export const getJob = (jobId, signal) => request("GET", `/jobs/${id(jobId)}`, { signal }).then(json);
export const cancelJob = (jobId, signal) => request("POST", `/jobs/${id(jobId)}/cancel`, { signal }).then(json);
export const deleteJob = (jobId, signal) => request("DELETE", `/jobs/${id(jobId)}`, { signal }).then(json);

/** A finished job's file (an export's ZIP) as a `Blob`. */
export const downloadJobFile = (jobId, signal) =>
  request("GET", `/jobs/${id(jobId)}/download`, { signal }).then((response) => response.blob());

/** WebSocket URL of a job's events (progress and status messages). */
export function jobEventsUrl(jobId, location = globalThis.location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${API_ROOT}/jobs/${id(jobId)}/events`;
}

/** True for a job status after which nothing changes. */
export const isTerminal = (status) => status === "succeeded" || status === "failed" || status === "cancelled";
