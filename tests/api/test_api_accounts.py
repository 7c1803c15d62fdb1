"""Multi-user mode (`FFEDIT_USERS=on`): two users, alice (the first admin) and bob, each with
a personal API token. Bob cannot list, read, render, edit, export or delete alice's things:
every route with an id in its path is called with alice's ids as bob and answers 404, as for
an unknown id (the routes are read from the app, so a new route is covered without touching
this file). Also: logging in and out, tokens revoked and users deleted refused at once, the
login throttle, the per-user limits, and a data folder from before owners."""

from __future__ import annotations

import re
import sqlite3

import numpy as np
import pytest
from api_helpers import wait_for_job
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ffedit.api.app import create_app
from ffedit.api.auth import (
    NOT_LOGGED_IN_ACCOUNT,
    NOT_VALID_ACCOUNT,
    SESSION_COOKIE,
    startup_message,
)
from ffedit.layouts import BUILTIN_LAYOUTS
from ffedit.service.accounts import Accounts
from ffedit.service.errors import NoAccounts
from ffedit.service.storage import DATABASE_NAME, Storage

API = "/api/v1"
PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}
PARAMETER = re.compile(r"\{([^}]+)\}")
UNKNOWN_ID = "AAAAAAAAAAA"


@pytest.fixture
def users_settings(settings):
    return settings.model_copy(
        update={
            "users": True,
            "login_attempts_per_account": 3,
            "login_attempts_per_address": 5,
        }
    )


@pytest.fixture
def tokens(users_settings) -> dict[str, str]:
    """The users alice (admin) and bob, made before the server starts (as `ffedit users
    create` does), and a personal API token of each."""
    with_accounts = Accounts(users_settings.data_dir)
    made = {}
    for name, password in PASSWORDS.items():
        user = with_accounts.create_user(name, password, admin=name == "alice")
        made[name] = with_accounts.create_token(user.id, "tests").secret
    with_accounts.close()
    return made


@pytest.fixture
def server(users_settings, tokens):
    """The running multi-user app; its anonymous client."""
    with TestClient(create_app(users_settings)) as running:
        yield running


def client_of(server: TestClient, token: str) -> TestClient:
    return TestClient(server.app, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def alice(server, tokens) -> TestClient:
    return client_of(server, tokens["alice"])


@pytest.fixture
def bob(server, tokens) -> TestClient:
    return client_of(server, tokens["bob"])


def _layout(client, name: str = "spots") -> dict:
    body = {"name": name, "base": "base15", "classes": [{"name": "spot", "color": [9, 9, 9]}]}
    answer = client.post(f"{API}/layouts", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _things_of(client) -> dict[str, str]:
    """A face, a custom layout with a sample, a finished export job and a token of the
    client's user, by the path parameter that names them."""
    face = client.post(f"{API}/faces", json={"seed": 5}).json()["id"]
    layout = _layout(client)["id"]
    mask = client.get(f"{API}/faces/{face}/mask", params={"layout": layout}).content
    sample = client.post(
        f"{API}/layouts/{layout}/samples",
        data={"face_id": face},
        files={"mask": ("mask.png", mask, "image/png")},
    )
    assert sample.status_code == 201, sample.text
    job = client.post(f"{API}/faces/{face}/exports", params={"frames": 2}).json()["id"]
    assert wait_for_job(client, job)["status"] == "succeeded"
    token = client.post(f"{API}/tokens", json={"name": "laptop"}).json()["id"]
    return {
        "face_id": face,
        "layout_id": layout,
        "sample_id": sample.json()["id"],
        "job_id": job,
        "token_id": token,
        "mask": mask,
    }


def _routes_with_ids(app) -> list[tuple[str, set[str], bool]]:
    """(path, methods, is a WebSocket) of every API route with an id in its path."""
    return [
        (c.path, c.methods or set(), isinstance(c.original_route, APIWebSocketRoute))
        for c in iter_route_contexts(app.routes)
        if c.path.startswith(API) and PARAMETER.search(c.path)
    ]


def _request(client, method: str, path: str, things: dict[str, str]):
    """One request that would pass validation on any of the routes (the form fields, file
    and query parameters the routes with a body or a size need)."""
    if method == "POST":
        return client.post(
            path,
            params={"size": 64, "frames": 2},
            data={"face_id": things["face_id"]},
            files={"mask": ("mask.png", things["mask"], "image/png")},
        )
    return client.request(method, path, params={"size": 64})


def test_another_users_ids_answer_404_on_every_route(alice, bob):
    theirs = _things_of(alice)
    routes = _routes_with_ids(alice.app)
    assert len(routes) > 15, "the app's routes were not found"
    for template, methods, websocket in routes:
        path = PARAMETER.sub(lambda found: theirs[found.group(1)], template)
        if websocket:
            with bob.websocket_connect(path) as socket:
                message = socket.receive_json()
                assert message["type"] == "error" and message["error"] == "not found", path
            continue
        for method in sorted(methods):
            answer = _request(bob, method, path, theirs)
            assert answer.status_code == 404, f"{method} {path}: {answer.status_code}"
            assert answer.json()["error"] == "not found"
            unknown = PARAMETER.sub(UNKNOWN_ID, template)
            same = _request(bob, method, unknown, theirs).json()["detail"]
            assert answer.json()["detail"].count("'") == same.count("'"), "an id leaks"
    # every route without an id (the lists) names none of alice's things to bob
    lists = [
        c.path
        for c in iter_route_contexts(alice.app.routes)
        if c.path.startswith(API) and not PARAMETER.search(c.path) and "GET" in (c.methods or ())
    ]
    assert f"{API}/faces" in lists and f"{API}/jobs" in lists
    ids = [value for key, value in theirs.items() if key.endswith("_id")]
    for path in lists:
        text = bob.get(path).text
        assert not any(thing in text for thing in ids), path
    # alice still has everything, unchanged
    for template, methods, websocket in routes:
        if "GET" in methods and not websocket:
            path = PARAMETER.sub(lambda found: theirs[found.group(1)], template)
            assert _request(alice, "GET", path, theirs).status_code == 200, path


def test_lists_hold_only_your_own(alice, bob):
    theirs = _things_of(alice)
    base = alice.get(f"{API}/layouts/base15").json()["id"]
    mask = alice.get(f"{API}/faces/{theirs['face_id']}/mask").content
    on_builtin = alice.post(
        f"{API}/layouts/{base}/samples",
        data={"face_id": theirs["face_id"]},
        files={"mask": ("mask.png", mask, "image/png")},
    )
    assert on_builtin.status_code == 201
    assert bob.get(f"{API}/faces").json() == []
    assert bob.get(f"{API}/jobs").json() == []
    assert bob.get(f"{API}/jobs", params={"status": "succeeded"}).json() == []
    assert [layout["name"] for layout in bob.get(f"{API}/layouts").json()] == list(BUILTIN_LAYOUTS)
    assert bob.get(f"{API}/layouts/{base}/samples").json() == []
    assert bob.get(f"{API}/layouts/spots").status_code == 404  # by name, too
    assert [t["name"] for t in bob.get(f"{API}/tokens").json()] == ["tests"]
    assert len(alice.get(f"{API}/faces").json()) == 1
    assert len(alice.get(f"{API}/layouts/{base}/samples").json()) == 1


def test_builtin_layouts_are_shared_read_only(alice, bob):
    for client in (alice, bob):
        base = client.get(f"{API}/layouts/base15").json()
        assert base["builtin"] and base["can_predict"]
        assert client.delete(f"{API}/layouts/{base['id']}").status_code == 409
        assert client.post(f"{API}/layouts/{base['id']}/train").status_code == 422


def test_another_users_things_cannot_be_used_in_your_requests(alice, bob):
    theirs = _things_of(alice)
    face = bob.post(f"{API}/faces", json={"seed": 5}).json()["id"]
    mine = _layout(bob)  # the same name as alice's: names are per user
    assert mine["id"] != theirs["layout_id"]
    sample = bob.post(
        f"{API}/layouts/{mine['id']}/samples",
        data={"face_id": theirs["face_id"]},
        files={"mask": ("mask.png", theirs["mask"], "image/png")},
    )
    assert sample.status_code == 404
    view = bob.get(f"{API}/faces/{face}/view", params={"layout": theirs["layout_id"]})
    assert view.status_code == 404
    export = bob.post(f"{API}/faces/{face}/exports", params={"layout": theirs["layout_id"]})
    assert export.status_code == 404
    # the same export as alice's is bob's own job, not alice's cached one
    again = bob.post(f"{API}/faces/{face}/exports", params={"frames": 2}).json()
    assert again["id"] != theirs["job_id"]


def test_a_request_without_credentials_is_told_how_to_log_in(server):
    routes = [
        (c.path, c.methods or set(), isinstance(c.original_route, APIWebSocketRoute))
        for c in iter_route_contexts(server.app.routes)
        if c.path.startswith(API) and c.path != f"{API}/health"
    ]
    for template, methods, websocket in routes:
        path = PARAMETER.sub("x", template)
        if websocket:
            with pytest.raises(WebSocketDisconnect) as refused, server.websocket_connect(path):
                pass
            assert refused.value.code == 1008
            continue
        for method in methods:
            answer = server.request(method, path)
            assert answer.status_code == 401, f"{method} {path}"
            assert answer.json()["detail"] == NOT_LOGGED_IN_ACCOUNT
    assert "log in on the page with your user name and password" in NOT_LOGGED_IN_ACCOUNT
    wrong = server.get(f"{API}/faces", headers={"Authorization": "Bearer ffedit_nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == NOT_VALID_ACCOUNT


def _log_in(client, name: str, password: str):
    return client.post(f"{API}/session", json={"name": name, "password": password})


def test_logging_in_and_out_of_the_page(server):
    answer = _log_in(server, "Alice", PASSWORDS["alice"])  # names in any letter case
    assert answer.status_code == 204, answer.text
    cookie = answer.headers["set-cookie"]
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/api/"} <= attributes
    secret = server.cookies[SESSION_COOKIE]
    assert server.get(f"{API}/session").json() == {"user": "alice", "admin": True, "users": True}
    assert server.post(f"{API}/faces", json={"seed": 1}).status_code == 201
    assert server.delete(f"{API}/session").status_code == 204
    assert SESSION_COOKIE not in server.cookies
    server.cookies.set(SESSION_COOKIE, secret)  # the old cookie, kept by a thief
    assert server.get(f"{API}/faces").status_code == 401
    refused = _log_in(server, "alice", "wrong-password")
    assert refused.status_code == 401 and "wrong user name or password" in refused.text


def test_a_revoked_token_is_refused_at_once(bob):
    made = bob.post(f"{API}/tokens", json={"name": "script"}).json()
    assert made["token"].startswith("ffedit_") and made["last_used_at"] is None
    script = client_of(bob, made["token"])
    assert script.get(f"{API}/faces").status_code == 200
    listed = {t["id"]: t for t in bob.get(f"{API}/tokens").json()}
    assert listed[made["id"]]["last_used_at"] is not None and "token" not in listed[made["id"]]
    assert bob.delete(f"{API}/tokens/{made['id']}").status_code == 204
    refused = script.get(f"{API}/faces")
    assert refused.status_code == 401 and refused.json()["detail"] == NOT_VALID_ACCOUNT
    assert bob.delete(f"{API}/tokens/{made['id']}").status_code == 404


def test_deleting_a_user_ends_their_sessions_and_tokens_at_once(server, bob, users_settings):
    page = TestClient(server.app)
    assert _log_in(page, "bob", PASSWORDS["bob"]).status_code == 204
    assert page.get(f"{API}/faces").status_code == 200
    with Accounts(users_settings.data_dir).store as store:  # as `ffedit users delete` does
        store.delete_user("bob")
    assert page.get(f"{API}/faces").status_code == 401
    assert bob.get(f"{API}/faces").status_code == 401


def test_failed_logins_are_limited_per_account_and_per_address(server):
    for _ in range(3):
        assert _log_in(server, "bob", "wrong-password").status_code == 401
    throttled = _log_in(server, "bob", PASSWORDS["bob"])  # even the right password, now
    assert throttled.status_code == 429
    wait = int(throttled.headers["retry-after"])
    assert 0 < wait <= 300
    assert f"try again in {wait} seconds" in throttled.json()["detail"]
    assert _log_in(server, "alice", PASSWORDS["alice"]).status_code == 204  # other accounts
    for name in ("carol", "dave"):  # 5 failures from this address in all
        assert _log_in(server, name, "wrong-password").status_code == 401
    from_here = _log_in(server, "alice", PASSWORDS["alice"])
    assert from_here.status_code == 429 and "from this address" in from_here.text


def test_multi_user_mode_without_an_admin_does_not_start(users_settings):
    app = create_app(users_settings)
    with pytest.raises(NoAccounts, match="ffedit users create NAME --admin"), TestClient(app):
        pass


def test_per_user_limits_answer_429(users_settings, tokens):
    limited = users_settings.model_copy(update={"max_faces": 2, "max_queued_jobs": 1})
    with TestClient(create_app(limited)) as server:
        alice, bob = client_of(server, tokens["alice"]), client_of(server, tokens["bob"])
        faces = [alice.post(f"{API}/faces", json={"seed": n}) for n in range(3)]
        assert [answer.status_code for answer in faces] == [201, 201, 429]
        assert "per user" in faces[2].json()["detail"]
        assert bob.post(f"{API}/faces", json={"seed": 0}).status_code == 201  # bob's own
        face = faces[0].json()["id"]
        with server.app.state.engine.device_lock:  # the first job waits, the next one queues
            answers = [
                alice.post(f"{API}/faces/{face}/exports", params={"frames": frames})
                for frames in (2, 3, 4)
            ]
            assert alice.get(f"{API}/jobs", params={"status": "queued"}).json()
            assert bob.get(f"{API}/jobs", params={"status": "queued"}).json() == []
            assert bob.get(f"{API}/jobs", params={"status": "running"}).json() == []
        codes = [answer.status_code for answer in answers]
        assert 429 in codes and "jobs waiting" in answers[codes.index(429)].json()["detail"]
        for answer in answers:
            if answer.status_code == 202:
                wait_for_job(alice, answer.json()["id"])


def test_a_full_disk_quota_answers_413(users_settings, tokens):
    with TestClient(create_app(users_settings.model_copy(update={"max_disk_bytes": 1024}))) as (
        server
    ):
        alice, bob = client_of(server, tokens["alice"]), client_of(server, tokens["bob"])
        codes = [alice.post(f"{API}/faces", json={"seed": n}).status_code for n in range(5)]
        assert 413 in codes and set(codes) <= {201, 413}
        full = alice.post(f"{API}/faces", json={"seed": 9})
        assert full.status_code == 413 and "each user may keep" in full.json()["detail"]
        assert bob.get(f"{API}/faces").json() == []


def test_a_data_folder_from_before_owners_belongs_to_the_first_admin(users_settings, tokens):
    """Records of a version-1 folder (no owners) and of single-user mode go to alice."""
    with Storage(users_settings.data_dir) as storage:  # single-user mode wrote this face
        single_user_face = storage.add_face(np.zeros((2, 4), np.float32), {"seed": 1}).id
    with sqlite3.connect(users_settings.data_dir / DATABASE_NAME) as db:
        db.execute("UPDATE faces SET owner = NULL WHERE id = ?", (single_user_face,))
        db.execute(
            "INSERT INTO faces (id, owner, origin, created_at) VALUES ('old', 'owner', '{}', 0)"
        )
    (users_settings.data_dir / "faces" / "old").mkdir()
    with TestClient(create_app(users_settings)) as server:
        alice, bob = client_of(server, tokens["alice"]), client_of(server, tokens["bob"])
        assert {face["id"] for face in alice.get(f"{API}/faces").json()} == {
            single_user_face,
            "old",
        }
        assert bob.get(f"{API}/faces").json() == []


def test_the_startup_message_names_the_page_not_a_token(users_settings):
    message = startup_message("0.0.0.0", 8000, users_settings)
    assert "Open http://127.0.0.1:8000/ and log in with your account" in message
    assert users_settings.token.get_secret_value() not in message and "?token" not in message
