"""The page's view (image and mask from one render), and renders nobody waits for any more:
superseded by a newer request of the same stream, or whose client disconnected."""

from __future__ import annotations

import base64
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest
from api_helpers import bearer, served_in_thread

from ffedit.api.app import create_app


def _face(client) -> str:
    return client.post("/api/v1/faces", json={"seed": 4}).json()["id"]


@pytest.fixture
def render_count(client, monkeypatch) -> list[int]:
    """How many renders the generator has done since the fixture started (a list of one)."""
    return _count_renders(client.app.state.engine, monkeypatch)


def _count_renders(engine, monkeypatch) -> list[int]:
    count = [0]
    render = engine.generator.render

    def counting(*args, **kwargs):
        count[0] += 1
        return render(*args, **kwargs)

    monkeypatch.setattr(engine.generator, "render", counting)
    return count


def _wait_until(condition, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_view_is_the_render_and_the_predicted_mask_from_one_render(client, render_count):
    face = _face(client)
    query = {"view": "left", "layout": "base15"}
    answer = client.get(f"/api/v1/faces/{face}/view", params=query)
    assert answer.status_code == 200 and render_count[0] == 1
    view = answer.json()
    image = client.get(f"/api/v1/faces/{face}/render", params=query).content
    mask = client.get(f"/api/v1/faces/{face}/mask", params=query).content
    assert base64.b64decode(view["image_png"]) == image
    assert base64.b64decode(view["mask_png"]) == mask


def test_a_newer_request_of_a_stream_supersedes_a_waiting_one(client, render_count):
    face = _face(client)
    lock = client.app.state.engine.device_lock
    answers: dict[str, int] = {}

    def get(name: str, stream: str, yaw: float) -> threading.Thread:
        params = {"yaw": yaw, "size": 32, "stream": stream}
        thread = threading.Thread(
            target=lambda: answers.__setitem__(
                name, client.get(f"/api/v1/faces/{face}/render", params=params).status_code
            )
        )
        thread.start()
        return thread

    lock.acquire()
    try:
        threads = [get("old", "page-1", 0.1)]
        _wait_until(lambda: lock.waiting == 1)
        threads += [get("other page", "page-2", 0.1)]
        _wait_until(lambda: lock.waiting == 2)
        threads += [get("new", "page-1", 0.2)]
        _wait_until(lambda: lock.waiting == 3)
    finally:
        lock.release()
    for thread in threads:
        thread.join()
    assert answers == {"old": 409, "other page": 200, "new": 200}
    assert render_count[0] == 2


def test_a_render_whose_client_left_is_never_rendered(settings, monkeypatch):
    app = create_app(settings)
    with served_in_thread(app) as url:
        api = httpx.Client(base_url=f"{url}/api/v1", headers=bearer(settings))
        face = api.post("/faces", json={"seed": 4}).json()["id"]
        engine = app.state.engine
        renders = _count_renders(engine, monkeypatch)
        address = urlsplit(url)
        engine.device_lock.acquire()
        try:
            with socket.create_connection((address.hostname, address.port)) as connection:
                authorization = bearer(settings)["Authorization"]
                request = (
                    f"GET /api/v1/faces/{face}/render?size=32 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: {authorization}\r\n\r\n"
                )
                connection.sendall(request.encode())
                _wait_until(lambda: engine.device_lock.waiting == 1)
            time.sleep(0.3)  # the server notices the closed connection
        finally:
            engine.device_lock.release()
        _wait_until(lambda: engine.device_lock.waiting == 0)
        time.sleep(0.2)
        assert renders[0] == 0
        answer = api.get(f"/faces/{face}/render", params={"size": 32})
        assert answer.status_code == 200 and renders[0] == 1
