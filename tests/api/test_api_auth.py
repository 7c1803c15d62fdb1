"""Authentication (single-user token mode): every API route but /health needs the access
token (`Authorization: Bearer`) or the session cookie the page gets for it; without either
the answer is 401 with a sentence saying how to log in, and a WebSocket is refused. The
routes are read from the app, so a new route is covered without touching this file."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from ffedit.api.auth import (
    NOT_LOGGED_IN,
    NOT_VALID,
    SESSION_COOKIE,
    TokenRedactor,
    login_url,
    session_value,
    startup_message,
)
from ffedit.api.settings import Settings

API = "/api/v1"
PUBLIC_API_PATHS = {f"{API}/health"}
"""What a container healthcheck asks without credentials; it names no data."""
PUBLIC_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/", ""}
"""FastAPI's docs (the schema holds no data) and / (the front end's mount, "", or a redirect
to /docs)."""
FOREIGN = "https://attacker.example"


@pytest.fixture
def anonymous(client) -> TestClient:
    """A client of the same running app that sends no credentials."""
    return TestClient(client.app)


def _concrete(path: str) -> str:
    """The route's path with every {parameter} filled in."""
    return re.sub(r"\{[^}]+\}", "x", path)


def _routes(app) -> list[tuple[str, set[str], bool]]:
    """(path, methods, is a WebSocket) of every route of the app, included routers' too."""
    return [
        (c.path, c.methods or set(), isinstance(c.original_route, APIWebSocketRoute))
        for c in iter_route_contexts(app.routes)
    ]


def _refused_websocket(client: TestClient, path: str, **headers) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(path, headers=headers) as socket,
    ):
        socket.receive_json()
    return refused.value.code


def test_every_api_route_but_health_needs_credentials(anonymous):
    routes = [r for r in _routes(anonymous.app) if r[0].startswith(API)]
    routes = [r for r in routes if r[0] not in PUBLIC_API_PATHS]
    assert len(routes) > 20, "the app's routes were not found"
    for template, methods, websocket in routes:
        path = _concrete(template)
        if websocket:
            assert _refused_websocket(anonymous, path) == 1008, path
            continue
        for method in methods:
            answer = anonymous.request(method, path)
            assert answer.status_code == 401, f"{method} {path}: {answer.status_code}"
            assert answer.json() == {"error": "unauthorized", "detail": NOT_LOGGED_IN}
            assert answer.headers["www-authenticate"] == "Bearer"


def test_only_health_the_docs_and_the_page_are_public(anonymous):
    others = {path for path, _, _ in _routes(anonymous.app) if not path.startswith(API)}
    assert others <= PUBLIC_PATHS, f"a route outside {API}: {others - PUBLIC_PATHS}"
    assert anonymous.get(f"{API}/health").status_code == 200
    assert anonymous.get("/openapi.json").status_code == 200


def test_the_sentence_says_how_to_log_in():
    assert "open the link `ffedit serve` printed at start-up" in NOT_LOGGED_IN
    assert "Authorization: Bearer <token>" in NOT_LOGGED_IN


def test_a_wrong_token_or_cookie_is_refused(anonymous, settings):
    token = settings.token.get_secret_value()
    for wrong in ("nope", token[:-1], token + "x", token.upper()):
        answer = anonymous.get(f"{API}/faces", headers={"Authorization": f"Bearer {wrong}"})
        assert answer.status_code == 401, wrong
        assert answer.json()["detail"] == NOT_VALID
    non_ascii = anonymous.get(f"{API}/faces", headers={b"Authorization": b"Bearer \xff\xfe"})
    assert non_ascii.status_code == 401
    for cookie in ("nope", token, session_value(token + "x")):  # the token itself is no cookie
        anonymous.cookies.set(SESSION_COOKIE, cookie)
        assert anonymous.get(f"{API}/faces").status_code == 401, cookie
    anonymous.cookies.clear()
    basic = anonymous.get(f"{API}/faces", headers={"Authorization": f"Basic {token}"})
    assert basic.status_code == 401


def test_the_bearer_token_logs_a_request_in(anonymous, settings):
    header = {"Authorization": f"Bearer {settings.token.get_secret_value()}"}
    assert anonymous.get(f"{API}/faces", headers=header).json() == []
    assert anonymous.post(f"{API}/faces", json={"seed": 1}, headers=header).status_code == 201


def test_the_token_is_exchanged_for_an_http_only_same_site_cookie(anonymous, settings):
    token = settings.token.get_secret_value()
    answer = anonymous.post(f"{API}/session", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 204
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={session_value(token)};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/api/"} <= attributes
    assert "secure" not in attributes  # plain http on loopback; set over https
    assert token not in cookie
    browser = TestClient(anonymous.app, cookies={SESSION_COOKIE: session_value(token)})
    assert browser.post(f"{API}/faces", json={"seed": 1}).status_code == 201
    assert len(browser.get(f"{API}/faces").json()) == 1


def test_the_session_needs_the_token(anonymous):
    assert anonymous.post(f"{API}/session").status_code == 401
    wrong = anonymous.post(f"{API}/session", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers


def test_a_cookie_session_keeps_the_origin_check(anonymous, settings):
    """CSRF: a foreign page's write is refused even though the browser would send the cookie
    (SameSite=Strict keeps it from sending it in the first place)."""
    browser = TestClient(
        anonymous.app, cookies={SESSION_COOKIE: session_value(settings.token.get_secret_value())}
    )
    refused = browser.post(f"{API}/faces", json={"seed": 1}, headers={"origin": FOREIGN})
    assert refused.status_code == 403
    assert browser.get(f"{API}/faces").json() == []


def test_the_job_websocket_needs_credentials(client, anonymous, settings):
    face = client.post(f"{API}/faces", json={"seed": 3}).json()["id"]
    job = client.post(f"{API}/faces/{face}/exports", params={"frames": 2}).json()["id"]
    path = f"{API}/jobs/{job}/events"
    assert _refused_websocket(anonymous, path) == 1008
    assert _refused_websocket(anonymous, path, authorization="Bearer nope") == 1008
    token = settings.token.get_secret_value()
    with anonymous.websocket_connect(path, headers={"authorization": f"Bearer {token}"}) as ws:
        assert ws.receive_json()["job_id"] == job
    browser = TestClient(client.app, cookies={SESSION_COOKIE: session_value(token)})
    with browser.websocket_connect(path) as socket:
        assert socket.receive_json()["job_id"] == job


def test_the_startup_message_has_the_link_with_the_token(settings):
    token = settings.token.get_secret_value()
    url = f"http://127.0.0.1:8000/?token={token}"
    assert login_url("127.0.0.1", 8000, token) == url
    assert url in startup_message("127.0.0.1", 8000, settings.model_copy())
    assert url in startup_message("0.0.0.0", 8000, settings)  # a bind to every interface
    assert login_url("::1", 8000, "t") == "http://[::1]:8000/?token=t"


def test_a_token_fixed_by_the_operator_is_not_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("FFEDIT_TOKEN", "operator-chosen-token-123")
    fixed = Settings(data_dir=tmp_path)
    assert fixed.token.get_secret_value() == "operator-chosen-token-123"
    message = startup_message("127.0.0.1", 8000, fixed)
    assert "operator-chosen" not in message
    assert "http://127.0.0.1:8000/?token=<FFEDIT_TOKEN>" in message


def test_each_start_makes_a_new_random_token():
    first, second = Settings().token.get_secret_value(), Settings().token.get_secret_value()
    assert first != second and len(first) >= 43


@pytest.mark.parametrize("token", ["", "tooShort9"])
def test_an_empty_or_short_token_is_refused_not_turned_off(token, monkeypatch):
    monkeypatch.setenv("FFEDIT_TOKEN", token)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "token" in str(refused.value)
    if token:
        assert token not in str(refused.value)  # a secret is not echoed


def test_the_access_log_leaves_the_token_out():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/?token=s3cr-et_&view=front", "1.1", 200),
        None,
    )
    assert TokenRedactor().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /?token=redacted&view=front HTTP/1.1" 200'


def test_single_user_mode_has_one_owner_and_no_personal_tokens(client):
    assert client.get(f"{API}/session").json() == {"user": "owner", "admin": True, "users": False}
    refused = client.get(f"{API}/tokens")
    assert refused.status_code == 409 and "single-user mode" in refused.json()["detail"]
    assert client.post(f"{API}/tokens", json={"name": "x"}).status_code == 409


def test_logging_out_clears_the_cookie(anonymous, settings):
    token = settings.token.get_secret_value()
    assert anonymous.post(f"{API}/session", headers={"Authorization": f"Bearer {token}"})
    assert anonymous.cookies.get(SESSION_COOKIE) == session_value(token)
    answer = anonymous.delete(f"{API}/session")
    assert answer.status_code == 204 and SESSION_COOKIE not in anonymous.cookies
    assert anonymous.get(f"{API}/faces").status_code == 401
