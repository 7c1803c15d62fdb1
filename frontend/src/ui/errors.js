/**
 * Errors as plain sentences next to the control that caused them.
 *
 * Each panel owns `<p class="error" role="alert" hidden>` elements placed right
 * after its controls; `errorSlot(element)` shows or clears one. `messageOf`
 * turns anything thrown (an `ApiError`, a mask codec error, a browser error)
 * into one sentence. `guarded(slot, action)` wraps an event handler: it clears
 * the slot, runs the action, and shows what went wrong; aborted requests (a
 * newer one won) are not errors and stay silent.
 */

/** True for the error of a request cancelled on purpose. */
export const isAbort = (error) => error?.name === "AbortError";

/** One plain sentence for anything thrown. */
export function messageOf(error) {
  const text = typeof error === "string" ? error : error?.message || "Something went wrong.";
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** Show / clear one error element. */
export function errorSlot(element) {
  return {
    show(error) {
      element.textContent = messageOf(error);
      element.hidden = false;
    },
    clear() {
      element.textContent = "";
      element.hidden = true;
    },
  };
}

/** An event handler running `action(...args)` with its errors shown in `slot`. */
export function guarded(slot, action) {
  return async (...args) => {
    slot.clear();
    try {
      await action(...args);
    } catch (error) {
      if (!isAbort(error)) slot.show(error);
    }
  };
}
