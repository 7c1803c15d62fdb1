/**
 * The viewer: which face, from which camera, shown how.
 *
 * Loads the current face at the current view into the mask canvas: the RGB
 * render underneath and the layout's predicted mask as the labels to paint
 * (and what the eraser and reset go back to), both from one render
 * (`viewFace`). Named-view buttons, yaw/pitch sliders (while dragging, small
 * RGB previews with the mask hidden, one in flight at a time and always the
 * latest angle next; the full view on release), orbit playback (frames at the
 * raw render side, rendered once per face and then replayed), RGB / mask /
 * overlay with an opacity slider, and the layout picker. Latest request wins:
 * every new load aborts the one before (and ends orbit playback), a stale
 * answer is never shown, and the page's requests share one `stream`, so the
 * server drops a superseded one before it takes the device. The sliders and
 * their readouts always show the current view's angles, a named view's too.
 *
 * Marks for benchmarks: `performance.mark("ffedit:view")` when a full view is
 * on the canvas, `"ffedit:preview"` when a drag or orbit frame is.
 *
 * `viewer.loaded` says what the canvas labels belong to ({ faceId, view,
 * layoutId }), for the panels that send them (samples, edits); `onLoaded`
 * listeners run after each full load.
 */

import { renderFace, viewFace } from "../api/client.js";
import { labelsFromPng } from "../mask/codec.js";
import { errorSlot, isAbort } from "./errors.js";
import { playOrbit } from "./orbit.js";
import { currentLayout, degreesOfView, describeView, paletteOf } from "./state.js";

const DEGREE = Math.PI / 180;
const PREVIEW_SIDE = 64;
const ORBIT_FRAMES = 24;
/** One id for this page's view requests: a newer one supersedes the older on the server. */
const STREAM = globalThis.crypto?.randomUUID?.() ?? `page-${Math.random().toString(36).slice(2)}`;

export class Viewer {
  #state;
  #canvas;
  #el;
  #errors;
  #controller = null;
  #stopOrbit = null;
  #orbitFrames = { faceId: null, images: new Map() };
  #drag = { inFlight: false, pending: null };
  #listeners = new Set();
  loaded = null;

  /**
   * @param {AppState} state
   * @param {MaskCanvas} canvas
   * @param {object} el elements: named, yaw, yawValue, pitch, pitchValue, orbit, modes (radios), opacity, layout, error, status
   */
  constructor(state, canvas, el) {
    this.#state = state;
    this.#canvas = canvas;
    this.#el = el;
    this.#errors = errorSlot(el.error);

    for (const slider of [el.yaw, el.pitch]) {
      slider.addEventListener("input", () => this.#setAngles(true));
      slider.addEventListener("change", () => this.#setAngles(false));
    }
    // Loading the view ends orbit playback.
    el.orbit.addEventListener("click", () => (this.#stopOrbit ? this.load() : this.#startOrbit()));
    for (const radio of el.modes) radio.addEventListener("change", () => this.#applyMode());
    el.opacity.addEventListener("input", () => {
      if (this.#mode() !== "overlay") this.#el.modes.find((radio) => radio.value === "overlay").checked = true;
      this.#applyMode();
    });
    el.layout.addEventListener("change", () => state.set({ layoutId: el.layout.value }));

    state.on("model", (model) => this.#showViews(model.views));
    state.on("layouts", () => this.#showLayouts());
    state.on("faceId", () => this.load());
    state.on("layoutId", () => {
      el.layout.value = state.get("layoutId");
      this.load();
    });
    state.on("view", () => this.#showView());
  }

  /** Call `listener(loaded)` after each full load of the canvas. */
  onLoaded(listener) {
    this.#listeners.add(listener);
  }

  /** Show a view: { view: name } or { yaw, pitch } in radians. */
  setView(view) {
    this.#state.set({ view });
    this.load();
  }

  /** Load the current face, view and layout into the canvas (latest call wins; orbit playback ends). */
  async load() {
    this.#endOrbit();
    const faceId = this.#state.get("faceId");
    const layout = currentLayout(this.#state);
    if (!faceId || !layout) return;
    const view = this.#state.get("view");
    const signal = this.#newRequest();
    this.#errors.clear();
    this.#el.status.textContent = "Rendering…";
    try {
      const shown = await viewFace(faceId, view, layout.id, { stream: STREAM }, signal);
      const palette = paletteOf(layout);
      const [image, labels] = await Promise.all([createImageBitmap(shown.image), labelsFromPng(shown.mask, palette)]);
      if (signal.aborted) return;
      this.#canvas.setPalette(palette);
      this.#canvas.setPrediction(labels);
      this.#canvas.setLabels(labels);
      this.#canvas.setImage(image);
      this.#applyMode();
      performance.mark("ffedit:view");
      this.loaded = { faceId, view, layoutId: layout.id };
      this.#el.status.textContent = `${describeView(view)} · ${layout.name} · ${labels.width}×${labels.height} mask`;
      for (const listener of this.#listeners) listener(this.loaded);
    } catch (error) {
      if (isAbort(error) || signal.aborted) return;
      this.#el.status.textContent = "";
      this.#errors.show(error);
    }
  }

  #endOrbit() {
    if (!this.#stopOrbit) return;
    this.#stopOrbit();
    this.#stopOrbit = null;
    this.#el.orbit.setAttribute("aria-pressed", "false");
    this.#el.orbit.textContent = "Play orbit";
  }

  #startOrbit() {
    const faceId = this.#state.get("faceId");
    if (!faceId) return;
    this.#errors.clear();
    this.#newRequest();
    this.#canvas.setOpacity(0);
    this.#el.orbit.setAttribute("aria-pressed", "true");
    this.#el.orbit.textContent = "Stop orbit";
    if (this.#orbitFrames.faceId !== faceId) this.#orbitFrames = { faceId, images: new Map() };
    const frames = this.#orbitFrames.images;
    const size = this.#state.get("model")?.mask_resolution ?? PREVIEW_SIDE;
    this.#stopOrbit = playOrbit(
      async (yaw, signal) => {
        let image = frames.get(yaw);
        if (!image) {
          const blob = await renderFace(faceId, { yaw, pitch: 0 }, { kind: "rgb", size, stream: STREAM }, signal);
          image = await createImageBitmap(blob);
          frames.set(yaw, image);
        }
        if (signal.aborted) return;
        this.#canvas.setImage(image);
        performance.mark("ffedit:preview");
      },
      (error) => {
        this.load();
        this.#errors.show(error);
      },
      { frames: ORBIT_FRAMES },
    );
  }

  /** A new request: abort the one before; the signal of this one. */
  #newRequest() {
    this.#controller?.abort();
    this.#controller = new AbortController();
    return this.#controller.signal;
  }

  #previewSide() {
    const side = this.#state.get("model")?.mask_resolution ?? PREVIEW_SIDE;
    return Math.max(16, Math.min(PREVIEW_SIDE, side));
  }

  /** Sliders moved: a preview while dragging (`dragging`), the full load on release. */
  #setAngles(dragging) {
    const view = { yaw: Number(this.#el.yaw.value) * DEGREE, pitch: Number(this.#el.pitch.value) * DEGREE };
    if (!dragging) {
      this.#drag.pending = null;
      this.setView(view);
      return;
    }
    this.#endOrbit();
    this.#state.set({ view });
    this.#drag.pending = view;
    if (!this.#drag.inFlight) this.#previewWhileDragging();
  }

  /** Preview the latest dragged angle; when it is shown, the angle dragged to meanwhile. */
  async #previewWhileDragging() {
    this.#drag.inFlight = true;
    try {
      while (this.#drag.pending) {
        const view = this.#drag.pending;
        this.#drag.pending = null;
        const faceId = this.#state.get("faceId");
        if (!faceId) return;
        const signal = this.#newRequest();
        try {
          const options = { kind: "rgb", size: this.#previewSide(), stream: STREAM };
          const image = await createImageBitmap(await renderFace(faceId, view, options, signal));
          if (signal.aborted) return;
          this.#canvas.setOpacity(0); // the mask belongs to the old view
          this.#canvas.setImage(image);
          performance.mark("ffedit:preview");
        } catch (error) {
          if (!isAbort(error) && !signal.aborted) this.#errors.show(error);
          return;
        }
      }
    } finally {
      this.#drag.inFlight = false;
    }
  }

  #mode() {
    return this.#el.modes.find((radio) => radio.checked)?.value ?? "overlay";
  }

  #applyMode() {
    const mode = this.#mode();
    const opacity = mode === "rgb" ? 0 : mode === "mask" ? 1 : Number(this.#el.opacity.value) / 100;
    this.#canvas.setOpacity(opacity);
  }

  #showViews(views) {
    this.#el.named.replaceChildren(
      ...views.map((name) => {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.view = name;
        button.textContent = name.charAt(0).toUpperCase() + name.slice(1);
        button.setAttribute("aria-pressed", "false");
        button.addEventListener("click", () => this.setView({ view: name }));
        return button;
      }),
    );
    this.#showView();
  }

  #showView() {
    const view = this.#state.get("view");
    for (const button of this.#el.named.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.view === view?.view));
    }
    const { yaw, pitch } = degreesOfView(view, this.#state.get("model")?.view_angles);
    this.#el.yaw.value = String(yaw);
    this.#el.pitch.value = String(pitch);
    this.#el.yawValue.textContent = `${yaw}°`;
    this.#el.pitchValue.textContent = `${pitch}°`;
  }

  #showLayouts() {
    const layouts = this.#state.get("layouts") ?? [];
    this.#el.layout.replaceChildren(
      ...layouts.map((layout) => {
        const option = document.createElement("option");
        option.value = layout.id;
        const note = layout.can_predict ? "" : " (untrained: base masks)";
        option.textContent = `${layout.name}${note}`;
        return option;
      }),
    );
    this.#el.layout.value = this.#state.get("layoutId") ?? "";
  }
}
