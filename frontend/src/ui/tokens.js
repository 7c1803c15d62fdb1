/**
 * The API tokens panel (multi-user mode only): the user's personal tokens with
 * when each was made and last used, a Revoke button each, and a form making a
 * new one, whose secret is shown once ("copy it now") and never again.
 */

import { createToken, listTokens, revokeToken } from "../api/client.js";
import { errorSlot, guarded } from "./errors.js";

/** "2026-12-04 19:20" of a time in seconds since the epoch; "never" for null. */
export function whenOf(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ");
}

/** One line of the list: its name, when it was made and last used. */
export function describeToken(token) {
  return `${token.name} · made ${whenOf(token.created_at)} UTC · last used ${whenOf(token.last_used_at)}`;
}

/**
 * @param {object} el elements: panel, form, name, secret, list, error
 * @returns {Promise<void>} once the list is shown
 */
export function initTokensPanel(el, doc = globalThis.document) {
  const errors = errorSlot(el.error);

  async function refresh() {
    const tokens = await listTokens();
    el.list.replaceChildren(
      ...tokens.map((token) => {
        const item = doc.createElement("li");
        const text = doc.createElement("span");
        text.textContent = describeToken(token);
        const revoke = doc.createElement("button");
        revoke.type = "button";
        revoke.textContent = "Revoke";
        revoke.setAttribute("aria-label", `Revoke the token ${token.name}`);
        revoke.addEventListener(
          "click",
          guarded(errors, async () => {
            await revokeToken(token.id);
            await refresh();
          }),
        );
        item.append(text, revoke);
        return item;
      }),
    );
  }

  el.form.addEventListener(
    "submit",
    guarded(errors, async (event) => {
      event.preventDefault();
      const made = await createToken(el.name.value.trim());
      el.secret.textContent = `New token (copy it now, it is not shown again): ${made.token}`;
      el.secret.hidden = false;
      el.name.value = "";
      await refresh();
    }),
  );
  el.panel.hidden = false;
  return refresh();
}
