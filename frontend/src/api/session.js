/**
 * Logging the page in: `ffedit serve` prints a link with the access token
 * (`http://127.0.0.1:8000/?token=…`). The page takes the token out of the
 * address bar at once (`history.replaceState`, so it stays out of the history,
 * bookmarks and screenshots) and exchanges it for the HttpOnly session cookie
 * (`POST /api/v1/session`); everything after that carries the cookie. No DOM
 * here but the `location` and `history` passed in.
 */

import { createSession } from "./client.js";

export const TOKEN_PARAM = "token";

/** The token of an address (null without one) and the address without it. */
export function splitToken(href) {
  const url = new URL(href);
  const token = url.searchParams.get(TOKEN_PARAM);
  url.searchParams.delete(TOKEN_PARAM);
  return { token: token || null, href: url.href };
}

/**
 * Log in with the address's token, if it has one: it leaves the address bar
 * first, then becomes the session cookie. True when there was a token (an
 * `ApiError` with status 401 when it is not valid), false when there was none.
 */
export async function logInFromAddress(location = globalThis.location, history = globalThis.history) {
  const { token, href } = splitToken(location.href);
  if (token === null) return false;
  history.replaceState(history.state, "", href);
  await createSession(token);
  return true;
}
