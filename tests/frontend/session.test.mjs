// Logging the page in from the start-up link: the token leaves the address bar
// before it is sent, once, as a Bearer header; a refused token is a 401.
import assert from "node:assert/strict";
import { test } from "node:test";

import { isNotLoggedIn } from "../../frontend/src/api/client.js";
import { logInFromAddress, splitToken } from "../../frontend/src/api/session.js";
import { loginMessage } from "../../frontend/src/ui/login.js";

/** A fake `fetch` answering `status`; the calls it got, in order, in `calls`. */
function fakeFetch(status, calls) {
  return async (url, init) => {
    calls.push({ url, init });
    const body = status === 204 ? null : JSON.stringify({ error: "unauthorized", detail: "Not logged in: open the link." });
    return new Response(body, { status, headers: { "Content-Type": "application/json" } });
  };
}

function fakeHistory(calls) {
  return { state: { kept: true }, replaceState: (state, unused, href) => calls.push({ replaced: href, state }) };
}

test("the token is split off the address, other parameters stay", () => {
  assert.deepEqual(splitToken("http://127.0.0.1:8000/?token=abc"), { token: "abc", href: "http://127.0.0.1:8000/" });
  assert.deepEqual(splitToken("http://h:1/?a=1&token=t-_x&b=2#here"), { token: "t-_x", href: "http://h:1/?a=1&b=2#here" });
  assert.deepEqual(splitToken("http://h:1/"), { token: null, href: "http://h:1/" });
  assert.equal(splitToken("http://h:1/?token=").token, null);
});

test("the link's token leaves the address bar, then becomes the session", async (t) => {
  const calls = [];
  t.mock.method(globalThis, "fetch", fakeFetch(204, calls));
  const loggedIn = await logInFromAddress({ href: "http://127.0.0.1:8000/?token=secret" }, fakeHistory(calls));
  assert.equal(loggedIn, true);
  assert.deepEqual(calls[0], { replaced: "http://127.0.0.1:8000/", state: { kept: true } });
  assert.equal(calls[1].url, "/api/v1/session");
  assert.equal(calls[1].init.method, "POST");
  assert.deepEqual(calls[1].init.headers, { Authorization: "Bearer secret" });
  assert.equal(calls.length, 2);
});

test("without a token nothing is sent", async (t) => {
  const calls = [];
  t.mock.method(globalThis, "fetch", fakeFetch(204, calls));
  assert.equal(await logInFromAddress({ href: "http://127.0.0.1:8000/" }, fakeHistory(calls)), false);
  assert.deepEqual(calls, []);
});

test("a refused token is a 401 the page recognises", async (t) => {
  const calls = [];
  t.mock.method(globalThis, "fetch", fakeFetch(401, calls));
  const refused = await logInFromAddress({ href: "http://h:1/?token=old" }, fakeHistory(calls)).catch((error) => error);
  assert.ok(isNotLoggedIn(refused));
  assert.equal(refused.message, "Not logged in: open the link.");
  assert.equal(calls[0].replaced, "http://h:1/"); // gone from the address bar all the same
});

test("the login message says which link to open", () => {
  for (const refused of [false, true]) {
    assert.match(loginMessage(refused), /Open the link printed by `ffedit serve`/);
    assert.match(loginMessage(refused), /\?token=/);
  }
  assert.match(loginMessage(true), /not valid/);
  assert.match(loginMessage(false), /^Not logged in\./);
});
