// The DOM-free parts of the page: the API client's helpers (and its coverage of the
// OpenAPI snapshot), job events and what jobs work on, orbit angles, keyboard shortcuts,
// colours, views' slider angles, shared state.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as client from "../../frontend/src/api/client.js";
import { applyEvent } from "../../frontend/src/api/jobs.js";
import { describeProgress, describeStatus, describeSubject } from "../../frontend/src/ui/jobs.js";
import { orbitYaws } from "../../frontend/src/ui/orbit.js";
import { shortcutOf } from "../../frontend/src/ui/tools.js";
import { atView, faceWords, formatIou, rgbOfHex, trainingWarnings } from "../../frontend/src/ui/layouts.js";
import { describeFace } from "../../frontend/src/ui/face.js";
import { AppState, degreesOfView, describeView, viewOfRecord } from "../../frontend/src/ui/state.js";
import { messageOf } from "../../frontend/src/ui/errors.js";
import { describeOutcome } from "../../frontend/src/ui/edit.js";

const OPENAPI = JSON.parse(readFileSync(new URL("../golden/openapi.json", import.meta.url), "utf8"));
const CLIENT_SOURCE = readFileSync(new URL("../../frontend/src/api/client.js", import.meta.url), "utf8");

test("the client has a call for every path of the OpenAPI snapshot", () => {
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  for (const path of Object.keys(OPENAPI.paths)) {
    const parts = path.replace(/^\/api\/v1/, "").split(/\{\w+\}/).map(escape);
    const pattern = new RegExp(`(["\`]|\\$\\{API_ROOT\\})${parts.join("\\$\\{id\\(\\w+\\)\\}")}(["\`]|\\$\\{)`);
    assert.match(CLIENT_SOURCE, pattern, `no call for ${path}`);
  }
});

test("error answers become plain sentences", () => {
  assert.equal(client.sentenceOf(422, "invalid mask", "the mask is 3×3 pixels"), "The mask is 3×3 pixels.");
  const validation = [{ loc: ["body", "name"], msg: "String should have at least 1 character" }];
  assert.equal(client.sentenceOf(422, "invalid request", validation), "Name: String should have at least 1 character.");
  assert.equal(client.sentenceOf(0, "unreachable", null), "The server could not be reached; is it running?");
  assert.equal(client.sentenceOf(500, "internal error", null), "The server answered 500 (internal error).");
  const error = new client.ApiError(404, "not found", "face x not found");
  assert.equal(error.message, "Face x not found.");
  assert.equal(error.status, 404);
});

test("queries skip missing values and views become yaw/pitch or a name", () => {
  assert.equal(client.queryOf({ a: 1, b: undefined, c: null, d: "x y" }), "?a=1&d=x+y");
  assert.equal(client.queryOf({}), "");
  assert.deepEqual(client.viewParams({ view: "left" }), { view: "left" });
  assert.deepEqual(client.viewParams({ yaw: 0.5 }), { yaw: 0.5, pitch: 0 });
  assert.equal(
    client.renderUrl("f1", { yaw: 0.25, pitch: -0.1 }, { kind: "mask", layout: "base15", size: 64 }),
    "/api/v1/faces/f1/render?yaw=0.25&pitch=-0.1&kind=mask&layout=base15&size=64",
  );
  assert.equal(
    client.renderUrl("f1", { view: "left" }, { size: 64, stream: "s1" }),
    "/api/v1/faces/f1/render?view=left&kind=rgb&size=64&stream=s1",
  );
  assert.deepEqual([...client.bytesOfBase64("iVBORw==")], [0x89, 0x50, 0x4e, 0x47]);
  const location = { protocol: "https:", host: "example.org:8443" };
  assert.equal(client.jobEventsUrl("j1", location), "wss://example.org:8443/api/v1/jobs/j1/events");
  assert.ok(client.isTerminal("cancelled") && !client.isTerminal("running"));
});

test("job events update a job record", () => {
  const queued = { id: "j", kind: "edit", status: "queued", progress: {}, result: null, error: null };
  const running = applyEvent(queued, { type: "progress", step: 2, total: 5, losses: { ce: 0.5 }, preview_png: "AAA" });
  assert.equal(running.status, "running");
  assert.deepEqual(running.progress, { step: 2, total: 5, losses: { ce: 0.5 }, preview_png: "AAA" });
  const later = applyEvent(running, { type: "progress", step: 3, total: 5, losses: { ce: 0.25 }, preview_png: null });
  assert.equal(later.progress.preview_png, "AAA", "a step without a preview keeps the last one");
  assert.equal(describeProgress(later), "Step 3 of 5", "a term the page has no words for is not shown");
  const terms = { painted: 0.5, keep: 0.0123, guard: 0, total: 0.6, lr: 0.005 };
  assert.equal(
    describeProgress({ ...later, progress: { step: 4, total: 5, losses: terms } }),
    "Step 4 of 5 · matching the painted pixels 0.500, keeping the rest of the mask 0.012",
  );
  const training = { kind: "train-layout", progress: { step: 1, total: 9, losses: { cross_entropy: 1, lr: 0.1 } } };
  assert.equal(describeProgress(training), "Step 1 of 9 · matching the samples 1.000");
  assert.equal(describeProgress({ kind: "export", progress: { step: 2, total: 48, losses: {} } }), "Orbit frame 2 of 48");
  const checking = applyEvent(
    { ...training, status: "running" },
    { type: "progress", step: 2, total: 10, losses: {}, stage: "checking the training samples" },
  );
  assert.equal(describeProgress(checking), "Checking the training samples: 2 of 10");
  const again = applyEvent(checking, { type: "progress", step: 3, total: 9, losses: { cross_entropy: 0.5 } });
  assert.equal(again.progress.stage, undefined, "an event without a stage ends the last one");
  assert.equal(describeProgress(again), "Step 3 of 9 · matching the samples 0.500");
  const done = applyEvent(later, { type: "status", status: "succeeded", result: { face_id: "f2" } });
  assert.equal(done.status, "succeeded");
  assert.deepEqual(done.result, { face_id: "f2" });
  assert.equal(describeStatus(done), "Edit finished.");
  assert.equal(describeProgress(done), "", "an ended job shows no progress");
  const checked = applyEvent(checking, { type: "status", status: "succeeded", result: {} });
  assert.equal(describeProgress(checked), "", "nor the stage it ended in");
  assert.equal(describeProgress({ ...checking, status: "cancelled" }), "");
  const failed = { ...done, kind: "train-layout", status: "failed", error: "the adapter diverged" };
  assert.equal(describeStatus(failed), "Training failed: The adapter diverged.");
  assert.equal(queued, applyEvent(queued, { type: "other" }));
});

test("a job says what it works on", () => {
  const layouts = [{ id: "l1", name: "spots" }];
  const training = { kind: "train-layout", status: "running", params: { layout_id: "l1", samples: ["s1"] } };
  assert.equal(describeSubject(training, layouts), "Training layout “spots”");
  assert.equal(describeSubject(training), "Training layout l1", "a layout not known (yet) is named by its id");
  assert.equal(describeStatus(training, describeSubject(training, layouts)), "Training layout “spots” is running.");
  const edit = { kind: "edit", status: "succeeded", params: { face_id: "f1", layout_id: "l1", view: { name: "left" } } };
  assert.equal(describeStatus(edit, describeSubject(edit, layouts)), "Edit of face f1 finished.");
  assert.equal(describeSubject({ kind: "export", params: { face_id: "f2", layout_id: "l1" } }), "ZIP export of face f2");
  assert.equal(describeSubject({ kind: "render", params: { face_id: "f3" } }), "Large render of face f3");
  assert.equal(describeSubject({ kind: "edit", params: {} }), "Edit");
});

test("a training report warns, in words, about the new classes that were not learned", () => {
  const classes = [
    { name: "skin", new: false, iou: 0.05, painted_pixels: 900, predicted_pixels: 10, learned: false },
    { name: "nose-tip", new: true, iou: 0.61, painted_pixels: 120, predicted_pixels: 130, learned: true },
    { name: "freckles", new: true, iou: 0, painted_pixels: 14, predicted_pixels: 0, learned: false },
    { name: "scar", new: true, iou: null, painted_pixels: 0, predicted_pixels: 0, learned: false },
  ];
  const warnings = trainingWarnings(classes, 128);
  assert.equal(warnings.length, 2, "base classes and learned ones are not warned about");
  assert.match(warnings[0], /^freckles: not learned \(IoU 0\.00 on its own samples\)\. /);
  assert.match(warnings[0], /3D shape.*colour or texture only, or smaller than a few pixels at 128²/);
  assert.match(warnings[0], /Paint larger regions that follow the face's shape, or add samples\.$/);
  assert.match(warnings[1], /^scar: not painted on any sample/);
  assert.deepEqual(trainingWarnings([{ name: "x", new: true, iou: 0.1, painted_pixels: 5 }], 64).length, 1);
  assert.deepEqual(trainingWarnings(undefined, 64), []);
  assert.equal(formatIou(0.4567), "0.46");
  assert.equal(formatIou(null), "–");
});

test("a sample's face and view are named in words", () => {
  assert.equal(faceWords("f1", { id: "f1", origin: { seed: 3 } }), "face f1 (seed 3)");
  assert.equal(faceWords("f2", { id: "f1", origin: { seed: 3 } }), "face f2", "another face's record is not used");
  assert.equal(faceWords("f3", { id: "f3", origin: { edit: "j" }, parent_id: "f1" }), "face f3 (edited from face f1)");
  assert.equal(atView({ view: "left" }), "at the left view");
  assert.equal(atView({ yaw: Math.PI / 6, pitch: 0 }), "at yaw 30°, pitch 0°");
});

test("an orbit sweeps symmetrically from the front", () => {
  const yaws = orbitYaws(8, 0.5);
  assert.equal(yaws.length, 8);
  assert.equal(yaws[0], 0);
  assert.ok(Math.abs(yaws[2] - 0.5) < 1e-12 && Math.abs(yaws[6] + 0.5) < 1e-12);
});

test("keyboard shortcuts", () => {
  const key = (k, mods = {}) => shortcutOf({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
  assert.equal(key("z", { ctrlKey: true }), "undo");
  assert.equal(key("z", { metaKey: true }), "undo");
  assert.equal(key("Z", { ctrlKey: true, shiftKey: true }), "redo");
  assert.equal(key("y", { ctrlKey: true }), "redo");
  assert.equal(key("c", { ctrlKey: true }), null);
  assert.equal(key("e"), "eraser");
  assert.equal(key("]"), "larger");
  assert.equal(key("e", { altKey: true }), null);
  assert.equal(key("q"), null);
});

test("colours, views, faces and messages for people", () => {
  assert.deepEqual(rgbOfHex("#0ac81e"), [10, 200, 30]);
  assert.deepEqual(viewOfRecord({ name: "left" }), { view: "left" });
  assert.deepEqual(viewOfRecord({ yaw: 0.1, pitch: 0.2 }), { yaw: 0.1, pitch: 0.2 });
  assert.equal(describeView({ yaw: Math.PI / 6, pitch: 0 }), "yaw 30°, pitch 0°");
  assert.deepEqual(degreesOfView({ yaw: Math.PI / 6, pitch: -0.1 }), { yaw: 30, pitch: -6 });
  const angles = { front: { yaw: 0, pitch: 0 }, left: { yaw: -0.4, pitch: 0 }, right: { yaw: 0.4, pitch: 0.1 } };
  assert.deepEqual(degreesOfView({ view: "left" }, angles), { yaw: -23, pitch: 0 }, "a named view has the model's angles");
  assert.deepEqual(degreesOfView({ view: "right" }, angles), { yaw: 23, pitch: 6 });
  assert.deepEqual(degreesOfView({ view: "front" }, angles), { yaw: 0, pitch: 0 });
  assert.deepEqual(degreesOfView({ view: "left" }), { yaw: 0, pitch: 0 }, "angles unknown: the front");
  assert.deepEqual(degreesOfView(undefined), { yaw: 0, pitch: 0 });
  assert.equal(describeFace({ id: "a", origin: { seed: 3 } }), "Face a, from seed 3.");
  assert.equal(describeFace({ id: "b", origin: { edit: "j" }, parent_id: "a" }), "Face b, edited from face a.");
  assert.equal(messageOf("no prediction"), "No prediction.");
  assert.equal(messageOf(new Error("Done!")), "Done!");
});

test("shared state calls listeners on change only and remembers the face", () => {
  const stored = new Map();
  const storage = { getItem: (k) => stored.get(k) ?? null, setItem: (k, v) => stored.set(k, v) };
  const state = new AppState(storage);
  const seen = [];
  state.on("faceId", (value) => seen.push(value));
  state.set({ faceId: "f1", view: { view: "front" } });
  state.set({ faceId: "f1" });
  state.set({ faceId: "f2" });
  assert.deepEqual(seen, ["f1", "f2"]);
  assert.equal(new AppState(storage).remembered("faceId"), "f2");
  assert.equal(state.remembered("view"), null);
});

test("an edit's outcome says how many painted pixels it reached and what else changed", () => {
  assert.equal(
    describeOutcome({ painted: 450, reached: 412, changed_elsewhere: 6 }),
    "412 of 450 painted pixels reached; 6 pixels changed elsewhere.",
  );
  assert.equal(
    describeOutcome({ painted: 1, reached: 0, changed_elsewhere: 1 }),
    "0 of 1 painted pixel reached; 1 pixel changed elsewhere.",
  );
});
