/**
 * What the page shows without a valid session: one message saying how to log
 * in, in place of the app (whose panels would otherwise each show an error).
 */

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
