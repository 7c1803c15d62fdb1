"""Fixtures of the browser tests: the real server on the shipped default model (`ffedit
serve` in a subprocess on a free port, small training/edit settings, its own random access
token), the link it prints to log the page in (read from its log, as a user reads it),
headless Debian Chromium driven by Playwright, and a page logged in with that link and the
app loaded; and a second, multi-user server (`accounts_server`, FFEDIT_USERS=on) whose
users were made with `ffedit users create`. A test fails when its page
throws or logs a console error or warning; one that provokes an error on purpose (a refused
upload: Chromium logs every 4xx answer as an error) takes it out of `console_messages`.

Everything here is skipped, with the reason, where Chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

from ffedit.bench.page import CHROMIUM_ARGS, chromium_path

SCREENSHOTS = Path(__file__).parent / "screenshots"
STARTUP_TIMEOUT_S = 60
LOGIN_LINK = re.compile(r"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]+")


class Served(NamedTuple):
    """The running server: its address, and the link it printed that logs the page in."""

    url: str
    login_url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not start in {STARTUP_TIMEOUT_S} s:\n{log.read_text()}")


def _login_link(log: Path) -> str:
    """The link `ffedit serve` printed (it prints it before it reports healthy)."""
    found = LOGIN_LINK.search(log.read_text())
    if found is None:
        raise RuntimeError(f"the server printed no login link:\n{log.read_text()}")
    return found.group(0)


SERVER_ENV = {
    "FFEDIT_DEVICE": "cpu",
    "FFEDIT_TRAINING_STEPS": "4",
    "FFEDIT_EDIT_STEPS": "4",
    "FFEDIT_ORBIT_FRAMES": "2",
    "FFEDIT_TORCH_THREADS": "1",
    "FFEDIT_MAX_UPLOAD_BYTES": str(256 * 1024),
}
"""Small training, edit and export settings of the browser tests' servers."""


def server_env(shipped_model: Path, folder: Path, **more: str) -> dict[str, str]:
    """The environment of a test server on the shipped model with the data folder `folder`
    (no FFEDIT_TOKEN of the caller's: each start makes its own)."""
    return {
        **{name: value for name, value in os.environ.items() if name != "FFEDIT_TOKEN"},
        **SERVER_ENV,
        "FFEDIT_MODEL": str(shipped_model),
        "FFEDIT_DATA_DIR": str(folder),
        **more,
    }


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """`ffedit serve` on 127.0.0.1 (a free port) with `env`, its output in `log`; yields its
    address once healthy, and stops it afterwards."""
    port = _free_port()
    command = [sys.executable, "-m", "ffedit.cli", "serve", "--host", "127.0.0.1"]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def served(shipped_model: Path, tmp_path_factory) -> Served:
    """The real server on 127.0.0.1 (a free port) with a fresh data folder."""
    folder = tmp_path_factory.mktemp("server")
    log = folder / "server.log"
    with running_server(server_env(shipped_model, folder / "data"), log) as url:
        yield Served(url, _login_link(log))


@pytest.fixture(scope="session")
def account_passwords() -> dict[str, str]:
    """The users of `accounts_server`: ada (the admin) and bo, with their passwords."""
    return {"ada": "ada-password-1", "bo": "bo-password-22"}


@pytest.fixture(scope="session")
def accounts_server(shipped_model: Path, tmp_path_factory, account_passwords) -> str:
    """A multi-user server (FFEDIT_USERS=on) whose users were made with `ffedit users
    create` (passwords on stdin), as an operator does; yields its address."""
    folder = tmp_path_factory.mktemp("accounts")
    env = server_env(shipped_model, folder / "data", FFEDIT_USERS="on")
    for name, password in account_passwords.items():
        admin = ["--admin"] if name == "ada" else []
        subprocess.run(
            [sys.executable, "-m", "ffedit.cli", "users", "create", name, *admin],
            input=f"{password}\n",
            text=True,
            env=env,
            check=True,
            capture_output=True,
        )
    with running_server(env, folder / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def server_url(served: Served) -> str:
    return served.url


@pytest.fixture(scope="session")
def login_url(served: Served) -> str:
    """http://127.0.0.1:PORT/?token=…: opening it logs the browser context in."""
    return served.login_url


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
    )
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is missing: apt-get install chromium (make test does it as root)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(executable),
            args=CHROMIUM_ARGS,
        )
        yield launched
        launched.close()


@pytest.fixture
def console_messages() -> list[str]:
    """The console errors and warnings of the `page` so far, as "type: text (url)"."""
    return []


@pytest.fixture
def page(browser, login_url: str, console_messages: list[str]):
    """A fresh browser context logged in with the start-up link, the app loaded and the first
    face shown."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def on_console(message) -> None:
        if message.type in ("error", "warning"):
            console_messages.append(f"{message.type}: {message.text} ({message.location['url']})")

    page.on("console", on_console)
    page.goto(login_url)
    wait_loaded(page)
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
    assert not console_messages, f"console errors or warnings: {console_messages}"


def wait_loaded(page, timeout_ms: int = 20_000) -> None:
    """Wait until the canvas holds a face's render and mask."""
    page.wait_for_function("window.ffedit?.viewer?.loaded != null", timeout=timeout_ms)


def _screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot():
    """`screenshot(page, name)`: a full-page PNG under tests/e2e/screenshots/ (git-ignored)."""
    return _screenshot


@pytest.fixture
def reload_page():
    """`reload_page(page)`: reload and wait until the app shows its face again."""

    def reload(page) -> None:
        page.reload()
        wait_loaded(page)

    return reload


def _watched_page(context):
    """A new page of `context` collecting its uncaught errors (`page.errors`) and console
    errors or warnings (`page.console`)."""
    page = context.new_page()
    page.errors, page.console = [], []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            message.type in ("error", "warning")
            and page.console.append(f"{message.type}: {message.text}")
        ),
    )
    return page


@pytest.fixture
def watched_page():
    """`_watched_page`: a new page of a browser context, its errors collected."""
    return _watched_page
