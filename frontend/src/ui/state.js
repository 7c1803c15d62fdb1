/**
 * The page's shared state: a few named values and listeners per name.
 *
 * Panels read `state.get(name)`, change values with `state.set({ name: value })`
 * and react with `state.on(name, listener)`. Names in use: `model` (the model
 * info), `layouts` (the list from the API), `layoutId`, `faceId`, `face` (its
 * record), `view` ({ view } or { yaw, pitch } in radians). `faceId` and
 * `layoutId` are remembered in localStorage so a reload comes back to them.
 */

const REMEMBERED = ["faceId", "layoutId"];
const STORAGE_PREFIX = "ffedit.";

export class AppState {
  #values = new Map();
  #listeners = new Map();
  #storage;

  constructor(storage = globalThis.localStorage) {
    this.#storage = storage;
  }

  get(name) {
    return this.#values.get(name);
  }

  /** The value remembered from an earlier visit (faceId, layoutId), or null. */
  remembered(name) {
    return this.#storage?.getItem(STORAGE_PREFIX + name) ?? null;
  }

  /** Set values, then call the listeners of each name whose value changed. */
  set(patch) {
    const changed = [];
    for (const [name, value] of Object.entries(patch)) {
      if (this.#values.get(name) === value) continue;
      this.#values.set(name, value);
      if (REMEMBERED.includes(name) && value != null) this.#storage?.setItem(STORAGE_PREFIX + name, value);
      changed.push(name);
    }
    for (const name of changed) {
      for (const listener of this.#listeners.get(name) ?? []) listener(this.#values.get(name));
    }
  }

  /** Call `listener(value)` whenever `name` changes. */
  on(name, listener) {
    if (!this.#listeners.has(name)) this.#listeners.set(name, new Set());
    this.#listeners.get(name).add(listener);
  }
}

/** The current layout's record, or undefined. */
export function currentLayout(state) {
  return (state.get("layouts") ?? []).find((layout) => layout.id === state.get("layoutId"));
}

/** [r, g, b] per class id of a layout record: the palette of the canvas and codec. */
export const paletteOf = (layout) => layout.classes.map((cls) => cls.color);

/** The view of a stored sample ({ name } or { yaw, pitch }) as the client's view. */
export const viewOfRecord = (view) => (view?.name ? { view: view.name } : { yaw: view?.yaw ?? 0, pitch: view?.pitch ?? 0 });

/**
 * A view's { yaw, pitch } in whole degrees, as the sliders show it; a named view takes
 * its angles from `namedAngles`, the model info's `view_angles` (radians from the front
 * view; a view missing there: the front).
 */
export function degreesOfView(view, namedAngles = {}) {
  const { yaw = 0, pitch = 0 } = view?.view ? (namedAngles[view.view] ?? {}) : (view ?? {});
  const degrees = (radians) => Math.round((radians * 180) / Math.PI);
  return { yaw: degrees(yaw), pitch: degrees(pitch) };
}

/** A short description of a view for people. */
export function describeView(view) {
  if (view?.view) return `${view.view} view`;
  const { yaw, pitch } = degreesOfView(view);
  return `yaw ${yaw}°, pitch ${pitch}°`;
}
