/**
 * The paint panel: class palette (from the backend's layout), brush / eraser /
 * fill, brush size, "protect other classes", undo / redo / reset, zoom; and the
 * page's keyboard shortcuts (Ctrl/Cmd+Z undo, Ctrl/Cmd+Shift+Z or Ctrl+Y redo,
 * B / E / F tools, [ and ] brush size, + / − zoom, 0 fit). Shortcuts are ignored
 * while typing in a text field.
 */

import { errorSlot, guarded } from "./errors.js";
import { currentLayout } from "./state.js";

const TYPING = new Set(["text", "number", "search", "email", "url", "password"]);

/** True when a key event belongs to a text field rather than to the page. */
function isTyping(event) {
  const target = event.target;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target?.isContentEditable) return true;
  return target instanceof HTMLInputElement && TYPING.has(target.type);
}

/** The action of a key press, or null: "undo", "redo", "brush", "eraser", "fill", "smaller", "larger", "zoom-in", "zoom-out", "fit". */
export function shortcutOf(event) {
  const key = event.key.toLowerCase();
  if (event.ctrlKey || event.metaKey) {
    if (key === "z") return event.shiftKey ? "redo" : "undo";
    if (key === "y") return "redo";
    return null;
  }
  if (event.altKey) return null;
  return { b: "brush", e: "eraser", f: "fill", "[": "smaller", "]": "larger", "+": "zoom-in", "=": "zoom-in", "-": "zoom-out", 0: "fit" }[key] ?? null;
}

export class Tools {
  #canvas;
  #state;
  #el;
  #errors;
  #classId = 0;

  /**
   * @param {AppState} state
   * @param {MaskCanvas} canvas
   * @param {object} el elements: palette, tools (radios), size, sizeValue, protect, undo, redo, reset, zoomIn, zoomOut, fit, error
   */
  constructor(state, canvas, el) {
    this.#state = state;
    this.#canvas = canvas;
    this.#el = el;
    this.#errors = errorSlot(el.error);

    for (const radio of el.tools) radio.addEventListener("change", () => this.#setTool(radio.value));
    el.size.addEventListener("input", () => this.#setSize(Number(el.size.value)));
    el.protect.addEventListener("change", () => canvas.setProtect(el.protect.checked ? "stroke-start" : null));
    el.undo.addEventListener("click", () => canvas.undo());
    el.redo.addEventListener("click", () => canvas.redo());
    el.reset.addEventListener("click", guarded(this.#errors, () => canvas.reset()));
    el.zoomIn.addEventListener("click", () => canvas.zoomIn());
    el.zoomOut.addEventListener("click", () => canvas.zoomOut());
    el.fit.addEventListener("click", () => canvas.fitView());
    canvas.onChange(({ canUndo, canRedo }) => {
      el.undo.disabled = !canUndo;
      el.redo.disabled = !canRedo;
      this.#errors.clear();
    });
    canvas.onError((message) => this.#errors.show(message));
    document.addEventListener("keydown", (event) => this.#onKey(event));
    state.on("layoutId", () => this.#showPalette());
    state.on("layouts", () => this.#showPalette());
    this.#setSize(Number(el.size.value));
  }

  /** Pick the class painted by the brush and the fill. */
  selectClass(classId) {
    this.#classId = classId;
    this.#canvas.setClass(classId);
    for (const button of this.#el.palette.querySelectorAll("button")) {
      button.setAttribute("aria-checked", String(Number(button.dataset.classId) === classId));
    }
  }

  #setTool(tool) {
    this.#canvas.setTool(tool);
    for (const radio of this.#el.tools) radio.checked = radio.value === tool;
  }

  #setSize(radius) {
    const clamped = Math.max(Number(this.#el.size.min), Math.min(Number(this.#el.size.max), radius));
    this.#el.size.value = String(clamped);
    this.#el.sizeValue.textContent = String(clamped);
    this.#canvas.setBrushSize(clamped);
  }

  #onKey(event) {
    if (isTyping(event)) return;
    const action = shortcutOf(event);
    if (!action) return;
    event.preventDefault();
    const canvas = this.#canvas;
    const actions = {
      undo: () => canvas.undo(),
      redo: () => canvas.redo(),
      brush: () => this.#setTool("brush"),
      eraser: () => this.#setTool("eraser"),
      fill: () => this.#setTool("fill"),
      smaller: () => this.#setSize(Number(this.#el.size.value) - 1),
      larger: () => this.#setSize(Number(this.#el.size.value) + 1),
      "zoom-in": () => canvas.zoomIn(),
      "zoom-out": () => canvas.zoomOut(),
      fit: () => canvas.fitView(),
    };
    actions[action]();
  }

  #showPalette() {
    const layout = currentLayout(this.#state);
    if (!layout) return;
    this.#el.palette.replaceChildren(
      ...layout.classes.map((cls, classId) => {
        const button = document.createElement("button");
        button.type = "button";
        button.setAttribute("role", "radio");
        button.dataset.classId = String(classId);
        button.title = `${classId}: ${cls.name}`;
        const swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = `rgb(${cls.color.join(",")})`;
        button.append(swatch, cls.name);
        button.addEventListener("click", () => this.selectClass(classId));
        return button;
      }),
    );
    this.selectClass(Math.min(this.#classId, layout.classes.length - 1));
  }
}
