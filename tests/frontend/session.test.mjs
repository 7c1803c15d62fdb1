// Logging the page in from the start-up link: the token leaves the address bar
// before it is sent, once, as a Bearer header; a refused token is a 401.
import assert from "node:assert/strict";
import { test } from "node:test";

import { isNotLoggedIn } from "../../frontend/src/api/client.js";
import { logInFromAddress, splitToken } from "../../frontend/src/api/session.js";
import { askToLogIn, loginMessage, showSession } from "../../frontend/src/ui/login.js";
import { initTokensPanel } from "../../frontend/src/ui/tokens.js";

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

/** A stand-in for the login form's elements: `submit()` fires its submit handler. */
function fakeLoginForm() {
  const handlers = [];
  const element = () => ({ hidden: true, value: "", textContent: "", focus() {} });
  const form = {
    hidden: true,
    addEventListener: (type, handler) => handlers.push(handler),
    removeEventListener: (type, handler) => handlers.splice(handlers.indexOf(handler), 1),
    submit: () => Promise.all(handlers.map((handler) => handler({ preventDefault() {} }))),
  };
  return { form, name: element(), password: element(), error: element(), app: { hidden: false }, status: element() };
}

test("multi-user mode: the login form sends the name and password, shows a refusal", async (t) => {
  const answers = [
    new Response(JSON.stringify({ error: "too many attempts", detail: "too many failed logins for this account; try again in 60 seconds" }), { status: 429 }),
    new Response(null, { status: 204 }),
  ];
  const calls = [];
  t.mock.method(globalThis, "fetch", async (url, init) => {
    calls.push({ url, init });
    return answers.shift();
  });
  const elements = fakeLoginForm();
  const loggedIn = askToLogIn(elements);
  assert.equal(elements.form.hidden, false);
  assert.equal(elements.app.hidden, true);
  elements.name.value = "ada";
  elements.password.value = "secret-1";
  await elements.form.submit();
  assert.equal(elements.error.hidden, false);
  assert.match(elements.error.textContent, /try again in 60 seconds/);
  assert.equal(elements.password.value, "", "a refused password is cleared");
  elements.password.value = "secret-2";
  await elements.form.submit();
  await loggedIn;
  assert.deepEqual(JSON.parse(calls[1].init.body), { name: "ada", password: "secret-2" });
  assert.equal(calls[1].url, "/api/v1/session");
  assert.equal(elements.form.hidden, true);
  assert.equal(elements.app.hidden, false);
});

test("the header names the user and logs out", async (t) => {
  const calls = [];
  t.mock.method(globalThis, "fetch", async (url, init) => {
    calls.push({ url, method: init.method });
    return new Response(null, { status: 204 });
  });
  const user = { hidden: true, textContent: "" };
  const logOutButton = { hidden: true, disabled: false, onclick: null };
  const visited = [];
  showSession({ user: "ada", admin: false, users: true }, { user, logOutButton }, { assign: (href) => visited.push(href) });
  assert.equal(user.textContent, "Logged in as ada");
  assert.equal(logOutButton.hidden, false);
  await logOutButton.onclick();
  assert.deepEqual(calls, [{ url: "/api/v1/session", method: "DELETE" }]);
  assert.deepEqual(visited, ["/"]);
  showSession({ user: "owner", admin: true, users: false }, { user, logOutButton }, { assign() {} });
  assert.equal(user.hidden, true, "single-user mode names nobody");
});

/** Just enough of `document` for the tokens panel: elements with children and listeners. */
function fakeDocument() {
  return {
    createElement: (tag) => {
      const listeners = {};
      return {
        tag,
        textContent: "",
        children: [],
        attributes: {},
        setAttribute(name, value) {
          this.attributes[name] = value;
        },
        append(...items) {
          this.children.push(...items);
        },
        addEventListener: (type, handler) => (listeners[type] = handler),
        click: () => listeners.click(),
      };
    },
  };
}

test("the tokens panel lists, makes (secret shown once) and revokes tokens", async (t) => {
  let tokens = [{ id: "t1", name: "ci", created_at: 0, last_used_at: null }];
  const calls = [];
  t.mock.method(globalThis, "fetch", async (url, init) => {
    calls.push(`${init.method} ${url}`);
    if (init.method === "POST") {
      const made = { id: "t2", name: JSON.parse(init.body).name, created_at: 60, last_used_at: null, token: "ffedit_s3cret" };
      tokens = [...tokens, made];
      return new Response(JSON.stringify(made), { status: 201 });
    }
    if (init.method === "DELETE") {
      tokens = tokens.filter((token) => !url.endsWith(token.id));
      return new Response(null, { status: 204 });
    }
    return new Response(JSON.stringify(tokens.map(({ token, ...rest }) => rest)), { status: 200 });
  });
  let submit;
  const list = { items: [], replaceChildren: (...items) => (list.items = items) };
  const el = {
    panel: { hidden: true },
    form: { addEventListener: (type, handler) => (submit = handler) },
    name: { value: " laptop " },
    secret: { hidden: true, textContent: "" },
    list,
    error: { hidden: true, textContent: "" },
  };
  await initTokensPanel(el, fakeDocument());
  assert.equal(el.panel.hidden, false);
  assert.equal(list.items[0].children[0].textContent, "ci · made 1970-01-01 00:00 UTC · last used never");
  await submit({ preventDefault() {} });
  assert.match(el.secret.textContent, /ffedit_s3cret$/);
  assert.equal(list.items.length, 2);
  assert.ok(!list.items.some((item) => item.children[0].textContent.includes("s3cret")), "the secret is not listed");
  await list.items[0].children[1].click();
  assert.deepEqual(list.items.map((item) => item.children[0].textContent.split(" ")[0]), ["laptop"]);
  assert.deepEqual(calls, ["GET /api/v1/tokens", "POST /api/v1/tokens", "GET /api/v1/tokens", "DELETE /api/v1/tokens/t1", "GET /api/v1/tokens"]);
});
