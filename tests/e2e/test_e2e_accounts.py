"""Multi-user mode in the real page against the real server (`FFEDIT_USERS=on`, users made
with `ffedit users create` as an operator does): a browser without a session gets the login
form, a wrong password is said under it, the right one logs the page in and the app loads;
a second user in another browser context sees an empty face list, not the first user's; a
token made in the API tokens panel works for a script until it is revoked there; Log out
ends the session (the old cookie no longer works)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

REFUSED_CONSOLE = re.compile(r"^error: Failed to load resource: .* 401 \(Unauthorized\)")
"""What Chromium logs for the page's refused requests (no session yet, a wrong password)."""


@pytest.fixture
def context(browser):
    made = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield made
    made.close()


def _log_in_on_the_page(page, name: str, password: str) -> None:
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")


def test_a_user_logs_in_on_the_page_and_another_sees_none_of_their_faces(
    browser, context, accounts_server, account_passwords, watched_page
):
    page = watched_page(context)
    page.goto(accounts_server)
    page.wait_for_selector("#login-form", state="visible", timeout=20_000)
    assert page.locator("#app").is_hidden()
    _log_in_on_the_page(page, "ada", "not-her-password")
    page.wait_for_selector("#login-error", state="visible")
    assert page.locator("#login-error").inner_text() == "Wrong user name or password."
    _log_in_on_the_page(page, "ada", account_passwords["ada"])
    page.wait_for_function("window.ffedit?.viewer?.loaded != null", timeout=20_000)
    assert page.locator("#login-form").is_hidden()
    assert page.locator("#session-user").inner_text() == "Logged in as ada"
    cookie = context.cookies()[0]
    assert cookie["name"] == "ffedit_session" and cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    ada_faces = context.request.get(f"{accounts_server}/api/v1/faces").json()
    assert len(ada_faces) == 1  # the page made her first face

    other = browser.new_context()
    try:
        logged_in = other.request.post(
            f"{accounts_server}/api/v1/session",
            data={"name": "bo", "password": account_passwords["bo"]},
        )
        assert logged_in.status == 204
        assert other.request.get(f"{accounts_server}/api/v1/faces").json() == []
        ada_face = ada_faces[0]["id"]
        assert other.request.get(f"{accounts_server}/api/v1/faces/{ada_face}").status == 404
        bo_page = watched_page(other)
        bo_page.goto(accounts_server)
        bo_page.wait_for_function("window.ffedit?.viewer?.loaded != null", timeout=20_000)
        assert bo_page.locator("#session-user").inner_text() == "Logged in as bo"
        assert bo_page.evaluate("window.ffedit.state.get('faceId')") != ada_face
        assert not bo_page.errors and not bo_page.console, bo_page.console
    finally:
        other.close()

    page.fill("#token-name", "notebook")
    page.click("#token-create")
    page.wait_for_selector("#token-secret", state="visible")
    secret = page.locator("#token-secret").inner_text().rsplit(" ", 1)[-1]
    assert secret.startswith("ffedit_")
    script = browser.new_context(extra_http_headers={"Authorization": f"Bearer {secret}"})
    try:
        faces = script.request.get(f"{accounts_server}/api/v1/faces")
        assert faces.status == 200 and len(faces.json()) == 1
        page.click("button[aria-label='Revoke the token notebook']")
        page.wait_for_function(
            "!document.querySelector('#token-list').textContent.includes('notebook')"
        )
        assert script.request.get(f"{accounts_server}/api/v1/faces").status == 401
    finally:
        script.close()

    page.click("#log-out")
    page.wait_for_selector("#login-form", state="visible", timeout=20_000)
    assert context.cookies() == []
    context.add_cookies([cookie])  # the old cookie, kept: the session is over on the server
    assert context.request.get(f"{accounts_server}/api/v1/faces").status == 401
    assert not page.errors
    assert all(REFUSED_CONSOLE.match(line) for line in page.console), page.console
