"""Logging in, in the real page against the real server: the link `ffedit serve` printed
logs a fresh browser in (the token leaves the address bar, an HttpOnly SameSite=Strict
cookie stays, a reload keeps the session); a browser without it, or with a stale link, sees
one message saying how to log in, not a page of errors."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

NOT_LOGGED_IN_CONSOLE = re.compile(r"^error: Failed to load resource: .* 401 \(Unauthorized\)")
"""What Chromium itself logs for the page's one refused request."""


@pytest.fixture
def fresh_page(browser, watched_page):
    """A page in a new browser context (no cookies), with its uncaught errors and console
    errors or warnings collected."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield watched_page(context)
    context.close()


def _login_message(page) -> str:
    page.wait_for_selector("#login", state="visible", timeout=20_000)
    assert page.locator("#app").is_hidden()
    return page.locator("#login").inner_text()


def test_the_startup_link_logs_the_page_in(fresh_page, login_url, server_url, reload_page):
    fresh_page.goto(login_url)
    fresh_page.wait_for_function("window.ffedit?.viewer?.loaded != null", timeout=20_000)
    assert fresh_page.url == f"{server_url}/", "the token stayed in the address bar"
    assert fresh_page.locator("#login").is_hidden()
    cookies = fresh_page.context.cookies()
    assert [cookie["name"] for cookie in cookies] == ["ffedit_session"]
    assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
    assert login_url.split("=", 1)[1] not in cookies[0]["value"]
    reload_page(fresh_page)  # the session outlives the token's removal
    assert not fresh_page.errors and not fresh_page.console, fresh_page.console


def test_a_browser_without_the_link_sees_how_to_log_in(fresh_page, server_url):
    fresh_page.goto(server_url)
    message = _login_message(fresh_page)
    assert message.startswith("Not logged in. Open the link printed by `ffedit serve`")
    assert fresh_page.locator("#model-status").inner_text() == "Not logged in."
    assert fresh_page.locator("p.error:visible").count() == 0, "panels showed errors"
    assert not fresh_page.errors
    assert len(fresh_page.console) == 1 and NOT_LOGGED_IN_CONSOLE.match(fresh_page.console[0])


def test_a_stale_link_says_its_token_is_not_valid(fresh_page, server_url):
    fresh_page.goto(f"{server_url}/?token=from-an-earlier-run-of-the-server")
    message = _login_message(fresh_page)
    assert "token is not valid" in message and "ffedit serve" in message
    assert fresh_page.url == f"{server_url}/"
    assert fresh_page.context.cookies() == []
    assert not fresh_page.errors
    assert len(fresh_page.console) == 1 and NOT_LOGGED_IN_CONSOLE.match(fresh_page.console[0])
