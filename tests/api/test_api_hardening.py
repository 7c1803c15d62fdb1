"""Issue 27's findings, one test each: hostile pages (Host, Origin, Content-Type, bodyless
cross-site POSTs), oversized requests, crafted PNG/NPY headers, races, leaked paths."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import zipfile
import zlib
from struct import pack

import numpy as np
import pytest
from api_helpers import bearer, wait_for_job
from fastapi.testclient import TestClient
from PIL import Image
from starlette.websockets import WebSocketDisconnect

from ffedit.api.app import create_app
from ffedit.api.settings import Settings
from ffedit.config import PRESETS
from ffedit.service.errors import DataDirInUse

SIZE = PRESETS["tiny"].neural_rendering_resolution
FOREIGN = "http://attacker.example"
SPOT = (10, 200, 30)


def _png(pixels: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(pixels.astype(np.uint8), mode=mode)
    if mode == "P":
        image.putpalette([0, 0, 0] * 256)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width × height RGB pixels and holds one empty IDAT."""
    header = pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b""))
        + _chunk(b"IEND", b"")
    )


def _npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """A .npy that declares `shape` and holds 16 bytes of data."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape!r}, }}"
    header = header.ljust(117) + "\n"
    return b"\x93NUMPY\x01\x00" + pack("<H", len(header)) + header.encode() + bytes(16)


def _setup(client) -> tuple[str, str]:
    face = client.post("/api/v1/faces", json={"seed": 1}).json()["id"]
    body = {"name": "spots", "base": "base15", "classes": [{"name": "spot", "color": SPOT}]}
    layout = client.post("/api/v1/layouts", json=body)
    assert layout.status_code == 201
    return face, layout.json()["id"]


def _labels() -> np.ndarray:
    labels = np.ones((SIZE, SIZE), dtype=np.uint8)
    labels[: SIZE // 4, : SIZE // 4] = 15
    return labels


def _add_sample(client, layout: str, face: str, mask: bytes, **kwargs):
    return client.post(
        f"/api/v1/layouts/{layout}/samples",
        data={"face_id": face, "view": "front"},
        files={"mask": ("mask.png", mask, "image/png")},
        **kwargs,
    )


# ------------------------------------------------------------- hostile pages


def test_only_loopback_host_names_are_served_by_default(settings):
    defaults = Settings.model_fields["trusted_hosts"].default
    assert defaults == ["localhost", "127.0.0.1", "[::1]"]
    with TestClient(
        create_app(settings.model_copy(update={"trusted_hosts": defaults})),
        headers=bearer(settings),
    ) as app:
        for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "localhost"):
            assert app.get("/api/v1/faces", headers={"host": host}).status_code == 200, host
        rebound = app.get("/api/v1/faces", headers={"host": "attacker.example"})
        assert rebound.status_code == 400 and rebound.text == "Invalid host header"  # Starlette's


def test_trusted_hosts_are_configurable(settings):
    update = {"trusted_hosts": ["ffedit.example"]}
    with TestClient(
        create_app(settings.model_copy(update=update)), headers=bearer(settings)
    ) as app:
        assert app.get("/api/v1/faces", headers={"host": "ffedit.example"}).status_code == 200
        assert app.get("/api/v1/faces", headers={"host": "localhost"}).status_code == 400


def test_a_text_plain_body_to_post_faces_is_415_and_creates_nothing(client):
    for kind in ("text/plain", "application/x-www-form-urlencoded"):
        answer = client.post(
            "/api/v1/faces", content=json.dumps({"seed": 1}), headers={"content-type": kind}
        )
        assert answer.status_code == 415, (kind, answer.text)
        assert answer.json()["error"] == "unsupported media type"
        assert kind in answer.json()["detail"]
    answer = client.post("/api/v1/layouts", content=b'{"name": "x"}', headers={"content-type": ""})
    assert answer.status_code == 415
    assert client.get("/api/v1/faces").json() == []


def test_a_foreign_origin_may_not_change_anything_and_no_origin_may(client, settings):
    answer = client.post("/api/v1/faces", json={"seed": 1}, headers={"origin": FOREIGN})
    assert answer.status_code == 403 and FOREIGN in answer.json()["detail"]
    cross_site = client.post(
        "/api/v1/faces", json={"seed": 1}, headers={"sec-fetch-site": "cross-site"}
    )
    assert cross_site.status_code == 403
    assert client.get("/api/v1/faces").json() == []
    face = client.post("/api/v1/faces", json={"seed": 1})  # curl: no Origin
    assert face.status_code == 201
    same = client.post("/api/v1/faces", json={"seed": 2}, headers={"origin": "http://testserver"})
    assert same.status_code == 201
    gone = client.delete(f"/api/v1/faces/{face.json()['id']}", headers={"origin": FOREIGN})
    assert gone.status_code == 403
    assert client.get("/api/v1/faces", headers={"origin": FOREIGN}).status_code == 200
    update = {"allowed_origins": [FOREIGN], "data_dir": settings.data_dir.parent / "other"}
    allowed = settings.model_copy(update=update)
    with TestClient(create_app(allowed), headers=bearer(settings)) as app:
        answer = app.post("/api/v1/faces", json={"seed": 1}, headers={"origin": FOREIGN})
        assert answer.status_code == 201


def test_the_job_websocket_refuses_a_foreign_origin(client):
    face, layout = _setup(client)
    _add_sample(client, layout, face, _png(_labels(), "P"))
    job = client.post(f"/api/v1/layouts/{layout}/train").json()
    url = f"/api/v1/jobs/{job['id']}/events"
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(url, headers={"origin": FOREIGN}) as socket,
    ):
        socket.receive_json()
    with client.websocket_connect(url, headers={"origin": "http://testserver"}) as socket:
        assert socket.receive_json()["job_id"] == job["id"]
    wait_for_job(client, job["id"])


def test_a_bodyless_cross_site_train_post_is_refused_and_writes_take_ids(client):
    face, layout = _setup(client)
    assert _add_sample(client, layout, face, _png(_labels(), "P")).status_code == 201
    # a plain HTML form posts urlencoded (or text/plain) with no body: never reaches the route
    form = client.post(
        f"/api/v1/layouts/{layout}/train",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    assert (
        client.post(f"/api/v1/layouts/{layout}/train", headers={"origin": FOREIGN}).status_code
        == 403
    )
    # layouts are addressed by id for writes: a guessable name trains nothing
    assert client.post("/api/v1/layouts/spots/train").status_code == 404
    assert _add_sample(client, "spots", face, _png(_labels(), "P")).status_code == 404
    assert client.delete("/api/v1/layouts/spots").status_code == 404
    assert client.get("/api/v1/jobs").json() == []
    assert client.get("/api/v1/layouts/spots").status_code == 200  # reads still take names
    job = client.post(f"/api/v1/layouts/{layout}/train")  # curl, by id
    assert job.status_code == 202
    wait_for_job(client, job.json()["id"])


# ---------------------------------------------------------- oversized requests


def _asgi_post(
    app, path: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, dict, int]:
    """POST through the ASGI app directly: (status, JSON answer, body chunks it read)."""
    read = 0
    messages: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        if read < len(chunks):
            read += 1
            return {
                "type": "http.request",
                "body": chunks[read - 1],
                "more_body": read < len(chunks),
            }
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (k.lower().encode(), v.encode()) for k, v in {"host": "localhost", **headers}.items()
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, json.loads(body), read


def test_a_declared_oversized_upload_is_413_before_a_byte_is_read(client, settings):
    boundary = "x" * 16
    headers = {
        "content-type": f"multipart/form-data; boundary={boundary}",
        "content-length": str(24 * 1024 * 1024),
    }
    chunks = [b"0" * 65536] * 4
    status, answer, read = _asgi_post(client.app, "/api/v1/faces", headers, chunks)
    assert status == 413 and read == 0
    assert answer["error"] == "request too large" and "bytes" in answer["detail"]


def test_a_streamed_oversized_upload_stops_at_the_limit(client, settings):
    boundary = "x" * 16
    headers = {
        "content-type": f"multipart/form-data; boundary={boundary}",  # no Content-Length
        **bearer(settings),
    }
    start = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="latent"; filename="a.npy"\r\n\r\n'
    )
    chunks = [start.encode()] + [b"0" * 16384] * 64  # 1 MiB, far above 64 KiB + room
    status, answer, read = _asgi_post(client.app, "/api/v1/faces", headers, chunks)
    assert status == 413 and answer["error"] == "request too large"
    assert read < 16  # it stopped reading near the limit, not at the end


def test_an_upload_without_credentials_is_401_before_its_body_is_read(client):
    boundary = "x" * 16
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    chunks = [b"0" * 16384] * 64
    status, answer, read = _asgi_post(client.app, "/api/v1/faces", headers, chunks)
    assert status == 401 and answer["error"] == "unauthorized"
    assert read <= 1


def test_a_large_json_body_is_413(client):
    body = json.dumps({"seed": 1, "pad": "x" * (200 * 1024)})
    answer = client.post(
        "/api/v1/faces", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413 and "bytes" in answer.json()["detail"]
    assert client.get("/api/v1/faces").json() == []


def test_a_multipart_request_takes_one_file(client):
    face, layout = _setup(client)
    mask = _png(_labels(), "P")
    answer = client.post(
        f"/api/v1/layouts/{layout}/samples",
        data={"face_id": face, "view": "front"},
        files=[("mask", ("a.png", mask, "image/png")), ("extra", ("b.png", mask, "image/png"))],
    )
    assert answer.status_code == 400 and "files" in answer.json()["detail"].lower()
    many = [("latent", (f"{i}.npy", b"\x93NUMPY", "application/octet-stream")) for i in range(3)]
    assert client.post("/api/v1/faces", files=many).status_code == 400
    assert client.get(f"/api/v1/layouts/{layout}/samples").json() == []


# ------------------------------------------------------ crafted image and npy headers


def test_an_oversized_mask_png_is_refused_from_its_header_in_milliseconds(client):
    face, layout = _setup(client)
    buffer = io.BytesIO()
    Image.new("RGB", (2049, 2049), SPOT).save(buffer, format="PNG")  # ≈ 12 KB, 4.2 Mpx
    start = time.perf_counter()
    answer = _add_sample(client, layout, face, buffer.getvalue())
    seconds = time.perf_counter() - start
    assert answer.status_code == 422 and "2049×2049" in answer.json()["detail"]
    assert seconds < 1.0, f"{seconds:.2f} s: the mask was decoded before its size was checked"


@pytest.mark.parametrize(
    ("width", "height"), [(60000, 60000), (4096, 4096), (SIZE * 2, SIZE), (0, 0)]
)
def test_crafted_png_headers_are_422_not_500(client, width, height):
    face, layout = _setup(client)
    mask = _png_header_only(width, height)
    answer = _add_sample(client, layout, face, mask)
    assert answer.status_code == 422, answer.text
    edit = client.post(
        f"/api/v1/faces/{face}/edits",
        data={"layout": "base15", "view": "front"},
        files={"mask": ("mask.png", mask, "image/png")},
    )
    assert edit.status_code == 422, edit.text
    assert client.get("/api/v1/health").status_code == 200


def test_a_npy_declaring_a_huge_shape_is_422_not_500(client):
    for shape in [(10**12,), (2**31, 2**31), (10**6,)]:
        answer = client.post(
            "/api/v1/faces",
            files={"latent": ("z.npy", _npy_header(shape), "application/octet-stream")},
        )
        assert answer.status_code == 422, (shape, answer.text)
        assert "declares shape" in answer.json()["detail"]
    assert client.get("/api/v1/faces").json() == []


def test_fuzzed_png_and_npy_uploads_never_answer_500(client):
    face, layout = _setup(client)
    rng = np.random.default_rng(27)
    png = _png(_labels(), "P")
    npy = io.BytesIO()
    np.save(npy, np.zeros(PRESETS["tiny"].z_dim, dtype=np.float32))
    seeds = {"png": png, "npy": npy.getvalue()}
    for _ in range(40):
        for kind, valid in seeds.items():
            data = bytearray(valid)
            for _ in range(int(rng.integers(1, 6))):  # overwrite bytes of the header region
                data[int(rng.integers(8, min(len(data), 128)))] = int(rng.integers(0, 256))
            if kind == "png":
                answer = _add_sample(client, layout, face, bytes(data))
            else:
                files = {"latent": ("z.npy", bytes(data), "application/octet-stream")}
                answer = client.post("/api/v1/faces", files=files)
            assert answer.status_code < 500, (kind, bytes(data[:128]), answer.text)


# ---------------------------------------------------------------------- races


def test_two_simultaneous_train_posts_give_one_job_and_one_409(client, monkeypatch):
    face, layout = _setup(client)
    _add_sample(client, layout, face, _png(_labels(), "P"))
    engine = client.app.state.engine
    decode = engine._layout_sample

    def slow_decode(*args):  # widens the window between the check and the insert
        time.sleep(0.3)
        return decode(*args)

    monkeypatch.setattr(engine, "_layout_sample", slow_decode)
    barrier = threading.Barrier(2)
    answers = []

    def post() -> None:
        barrier.wait()
        answers.append(client.post(f"/api/v1/layouts/{layout}/train"))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [202, 409]
    jobs = client.get("/api/v1/jobs").json()
    assert len(jobs) == 1
    wait_for_job(client, jobs[0]["id"])


def test_a_cancel_after_the_last_stop_check_keeps_the_stored_success(client):
    runner = client.app.state.engine.runner
    stored = []

    def job(context) -> dict:
        assert not context.should_stop()  # its last check
        stored.append("adapter")  # ... it stores its result ...
        runner.cancel(context.job_id)  # ... and the cancel lands now
        return {"stored": True}

    record = runner.submit("train-layout", {}, job)
    done = wait_for_job(client, record.id)
    assert stored and done["status"] == "succeeded" and done["result"] == {"stored": True}


# ---------------------------------------------------------------------- leaks


def test_job_errors_and_answers_carry_no_server_paths(client, caplog):
    runner = client.app.state.engine.runner
    secret = "/srv/ffedit-secret/layouts/abc/adapter.pt"

    def missing(context) -> dict:
        raise FileNotFoundError(2, "No such file or directory", secret)

    def invalid(context) -> dict:
        raise ValueError(f"cannot use {secret}: bad shape")

    for job in (missing, invalid):
        done = wait_for_job(client, runner.submit("edit", {}, job).id)
        assert done["status"] == "failed" and "/srv" not in done["error"], done["error"]
        assert "ffedit-secret" not in json.dumps(client.get("/api/v1/jobs").json())
    assert (
        "FileNotFoundError" in wait_for_job(client, runner.submit("edit", {}, missing).id)["error"]
    )
    assert secret in caplog.text, "the log keeps the detail"


def test_health_and_model_name_the_model_without_its_path(client, settings):
    health = {"status": "ok", "model": settings.model.name, "users": False}
    assert client.get("/api/v1/health").json() == health
    source = client.get("/api/v1/model").json()["source"]
    assert source == settings.model.name and str(settings.model.parent) not in source


# ------------------------------------------------------------- event loop, caches


def test_a_latent_upload_waiting_for_the_device_does_not_block_health(client):
    engine = client.app.state.engine
    npy = io.BytesIO()
    np.save(npy, np.zeros(PRESETS["tiny"].z_dim, dtype=np.float32))  # a z: needs the device
    engine.device_lock.acquire()
    release = threading.Timer(2.0, engine.device_lock.release)
    release.start()
    answers = []
    upload = threading.Thread(
        target=lambda: answers.append(
            client.post("/api/v1/faces", files={"latent": ("z.npy", npy.getvalue())})
        )
    )
    upload.start()
    time.sleep(0.3)  # the upload is now waiting for the device lock
    start = time.perf_counter()
    assert client.get("/api/v1/health").status_code == 200
    seconds = time.perf_counter() - start
    release.join()
    upload.join()
    assert answers[0].status_code == 201
    assert seconds < 1.0, f"/health took {seconds:.2f} s while an upload waited for the device"


def test_deleted_and_retrained_layouts_leave_the_adapter_cache(client):
    face, layout = _setup(client)
    _add_sample(client, layout, face, _png(_labels(), "P"))
    engine = client.app.state.engine
    render = {"kind": "mask", "layout": layout}

    def cached() -> list:
        return [folder for folder in engine._adapters if folder.parent.name == layout]

    for _ in range(2):
        job = client.post(f"/api/v1/layouts/{layout}/train").json()
        assert wait_for_job(client, job["id"])["status"] == "succeeded"
        assert client.get(f"/api/v1/faces/{face}/render", params=render).status_code == 200
        assert len(cached()) == 1, cached()
    assert client.delete(f"/api/v1/layouts/{layout}").status_code == 204
    assert cached() == []


def test_a_second_server_on_the_same_data_directory_refuses_to_start(client, settings):
    running = client.post("/api/v1/faces", json={"seed": 1}).json()
    with (
        pytest.raises(DataDirInUse, match="another ffedit server"),
        TestClient(create_app(settings), headers=bearer(settings)),
    ):
        pass
    assert client.get(f"/api/v1/faces/{running['id']}").status_code == 200
    client.__exit__(None, None, None)  # the first one stops: its lock goes with it
    with TestClient(create_app(settings), headers=bearer(settings)) as second:
        assert second.get(f"/api/v1/faces/{running['id']}").status_code == 200


# ------------------------------------------------------------------- growth


def test_stored_faces_layouts_and_samples_are_bounded_with_429(settings):
    update = {"max_faces": 2, "max_layouts": 1, "max_samples_per_layout": 1}
    with TestClient(
        create_app(settings.model_copy(update=update)), headers=bearer(settings)
    ) as app:
        face, layout = _setup(app)
        assert app.post("/api/v1/faces", json={"seed": 2}).status_code == 201
        full = app.post("/api/v1/faces", json={"seed": 3})
        assert full.status_code == 429 and "at most 2 faces" in full.json()["detail"]
        body = {"name": "more", "base": "base15", "classes": [{"name": "x", "color": [1, 2, 3]}]}
        assert app.post("/api/v1/layouts", json=body).status_code == 429
        assert _add_sample(app, layout, face, _png(_labels(), "P")).status_code == 201
        again = _add_sample(app, layout, face, _png(_labels(), "P"))
        assert again.status_code == 429 and "at most 1 samples" in again.json()["detail"]
        assert len(app.get("/api/v1/faces").json()) == 2


def test_simultaneous_creations_cannot_pass_a_limit_together(settings):
    with TestClient(
        create_app(settings.model_copy(update={"max_faces": 3})), headers=bearer(settings)
    ) as app:
        barrier = threading.Barrier(8)
        codes = []

        def create(seed: int) -> None:
            barrier.wait()
            codes.append(app.post("/api/v1/faces", json={"seed": seed}).status_code)

        threads = [threading.Thread(target=create, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(codes) == [201] * 3 + [429] * 5
        assert len(app.get("/api/v1/faces").json()) == 3


def test_job_history_is_pruned_and_listed_newest_first_without_previews(settings):
    with TestClient(
        create_app(settings.model_copy(update={"max_jobs": 3})), headers=bearer(settings)
    ) as app:
        face, layout = _setup(app)
        _add_sample(app, layout, face, _png(_labels(), "P"))
        ids = []
        for _ in range(4):
            ids.append(app.post(f"/api/v1/layouts/{layout}/train").json()["id"])
            assert wait_for_job(app, ids[-1])["status"] == "succeeded"
        listed = app.get("/api/v1/jobs").json()
        assert [job["id"] for job in listed] == ids[:0:-1]  # the oldest was pruned
        assert app.get(f"/api/v1/jobs/{ids[0]}").status_code == 404
        assert all(job["progress"]["preview_png"] is None for job in listed)
        assert app.get(f"/api/v1/jobs/{ids[-1]}").json()["progress"]["preview_png"]
        page = app.get("/api/v1/jobs", params={"limit": 1, "offset": 1}).json()
        assert [job["id"] for job in page] == [ids[2]]
        assert app.get("/api/v1/jobs", params={"status": "running"}).json() == []
        assert app.get("/api/v1/jobs", params={"limit": 0}).status_code == 422


def test_exports_and_large_renders_are_jobs_not_requests(client):
    face = client.post("/api/v1/faces", json={"seed": 1}).json()["id"]
    assert client.get(f"/api/v1/faces/{face}/export").status_code in (404, 405)
    large = client.get(f"/api/v1/faces/{face}/render", params={"size": 300})
    assert large.status_code == 422 and "as a render job" in large.json()["detail"]
    url = f"/api/v1/faces/{face}/renders"
    job = client.post(url, params={"size": 300, "kind": "overlay", "view": "left"})
    assert job.status_code == 202 and job.json()["kind"] == "render"
    done = wait_for_job(client, job.json()["id"])
    assert done["status"] == "succeeded" and done["progress"]["total"] == 16
    download = client.get(f"/api/v1/jobs/{done['id']}/download")
    assert download.headers["content-type"] == "image/png"
    assert f'filename="face-{face}.png"' in download.headers["content-disposition"]
    assert Image.open(io.BytesIO(download.content)).size == (300, 300)
    again = client.post(url, params={"size": 300, "kind": "overlay", "view": "left"})
    assert again.json()["id"] == done["id"], "cached"
    assert client.post(url, params={"size": 2048}).status_code == 422
    assert client.post(url, params={"size": 64, "kind": "depth"}).status_code == 422
    assert client.post("/api/v1/faces/nope/renders", params={"size": 64}).status_code == 404


def test_a_banded_render_is_the_same_render_as_a_whole_one(client):
    """The job's bands give the pixels of one `render` call at the same side."""
    face = client.post("/api/v1/faces", json={"seed": 2}).json()["id"]
    whole = client.get(f"/api/v1/faces/{face}/render", params={"size": 64, "kind": "overlay"})
    job = client.post(f"/api/v1/faces/{face}/renders", params={"size": 64, "kind": "overlay"})
    banded = client.get(f"/api/v1/jobs/{wait_for_job(client, job.json()['id'])['id']}/download")
    difference = np.abs(
        np.asarray(Image.open(io.BytesIO(whole.content)), dtype=int)
        - np.asarray(Image.open(io.BytesIO(banded.content)), dtype=int)
    )
    assert difference.max() <= 1, difference.max()


# --------------------------------------------------------------- export jobs


def test_an_export_is_a_job_with_progress_a_download_a_cache_and_a_cancel(client):
    face = client.post("/api/v1/faces", json={"seed": 1}).json()["id"]
    url = f"/api/v1/faces/{face}/exports"
    job = client.post(url, params={"frames": 3})
    assert job.status_code == 202 and job.json()["kind"] == "export"
    done = wait_for_job(client, job.json()["id"])
    assert done["status"] == "succeeded" and done["progress"]["step"] == 3
    download = client.get(f"/api/v1/jobs/{done['id']}/download")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert archive.testzip() is None and "ws.npy" in archive.namelist()
    assert client.post(url, params={"frames": 3}).json()["id"] == done["id"], "cached"
    engine = client.app.state.engine
    engine.device_lock.acquire()
    try:
        other = client.post(url, params={"frames": 50}).json()
        assert client.get(f"/api/v1/jobs/{other['id']}/download").status_code == 409
        assert client.post(f"/api/v1/jobs/{other['id']}/cancel").status_code == 200
    finally:
        engine.device_lock.release()
    assert wait_for_job(client, other["id"])["status"] == "cancelled"
    assert client.get(f"/api/v1/jobs/{other['id']}/download").status_code == 409
    assert client.post("/api/v1/faces/nope/exports").status_code == 404
