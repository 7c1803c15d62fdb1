/**
 * What the page shows without a valid session, and who is logged in with one.
 * Single-user mode: one message saying which link to open, in place of the app
 * (whose panels would otherwise each show an error). Multi-user mode: a login
 * form (user name and password). Logged in: the user's name and a Log out
 * button in the header.
 */

import { logIn, logOut } from "../api/client.js";
import { errorSlot, messageOf } from "./errors.js";

/** The message: never logged in, or the link's token was refused (`linkRefused`). */
export function loginMessage(linkRefused) {
  const open = "Open the link printed by `ffedit serve` at start-up (it ends in /?token=…)";
  if (linkRefused) {
    return `This link's token is not valid (a restarted server makes a new one). ${open} to log in.`;
  }
  return `Not logged in. ${open} to use this page.`;
}

/** Show `loginMessage(linkRefused)` in `login` and hide `app`. */
export function showLoggedOut({ login, app, status }, linkRefused) {
  login.textContent = loginMessage(linkRefused);
  login.hidden = false;
  app.hidden = true;
  status.textContent = "Not logged in.";
}

/**
 * Multi-user mode without a session: show the login form in place of the app;
 * resolves once the user has logged in (the form hidden, the app shown again).
 * A wrong password or too many attempts (429, with when to retry) is shown
 * under the form.
 */
export function askToLogIn({ form, name, password, error, app, status }) {
  form.hidden = false;
  app.hidden = true;
  status.textContent = "Log in to use this page.";
  name.focus();
  const slot = errorSlot(error);
  return new Promise((resolve) => {
    form.addEventListener("submit", async function submit(event) {
      event.preventDefault();
      slot.clear();
      try {
        await logIn(name.value, password.value);
      } catch (refused) {
        slot.show(messageOf(refused));
        password.value = "";
        return;
      }
      form.removeEventListener("submit", submit);
      password.value = "";
      form.hidden = true;
      app.hidden = false;
      resolve();
    });
  });
}

/** The header's "Logged in as …" and its Log out button (which reloads the page logged out). */
export function showSession(session, { user, logOutButton }, location = globalThis.location) {
  user.textContent = session.users ? `Logged in as ${session.user}` : "";
  user.hidden = !session.users;
  logOutButton.hidden = false;
  logOutButton.onclick = async () => {
    logOutButton.disabled = true;
    await logOut().catch(() => {});
    location.assign("/");
  };
}
