"""Layouts, samples, training and edit jobs, WebSocket progress, cancel, bad input, restart."""

from __future__ import annotations

import io

import numpy as np
from api_helpers import bearer, wait_for_job
from fastapi.testclient import TestClient
from PIL import Image

from ffedit.api.app import create_app
from ffedit.config import PRESETS
from ffedit.layouts import BUILTIN_LAYOUTS

SIZE = PRESETS["tiny"].neural_rendering_resolution
SPOT = (10, 200, 30)


def _png(pixels: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(pixels.astype(np.uint8), mode=mode)
    if mode == "P":
        image.putpalette([0, 0, 0] * 256)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _labels(size: int = SIZE) -> np.ndarray:
    labels = np.ones((size, size), dtype=np.uint8)
    labels[: size // 4, : size // 4] = 15  # the new class "spot"
    labels[-2:] = 0
    return labels


def _setup(client) -> tuple[str, str]:
    face = client.post("/api/v1/faces", json={"seed": 1}).json()["id"]
    body = {"name": "spots", "base": "base15", "classes": [{"name": "spot", "color": SPOT}]}
    layout = client.post("/api/v1/layouts", json=body)
    assert layout.status_code == 201
    return face, layout.json()["id"]


def _add_sample(client, layout: str, face: str, mask: bytes, **form):
    return client.post(
        f"/api/v1/layouts/{layout}/samples",
        data={"face_id": face, **form},
        files={"mask": ("mask.png", mask, "image/png")},
    )


def test_builtin_layouts_are_listed_and_protected(client):
    layouts = client.get("/api/v1/layouts").json()
    assert [item["name"] for item in layouts] == list(BUILTIN_LAYOUTS)
    base15 = client.get("/api/v1/layouts/base15").json()
    assert base15["builtin"] and base15["can_predict"] and len(base15["classes"]) == 15
    assert base15["classes"][1] == {"name": "skin", "color": [127, 212, 255]}
    answer = client.delete(f"/api/v1/layouts/{base15['id']}")
    assert answer.status_code == 409 and "built in" in answer.json()["detail"]
    assert client.post(f"/api/v1/layouts/{base15['id']}/train").status_code == 422


def test_create_get_delete_layout_and_its_errors(client):
    _, layout = _setup(client)
    record = client.get(f"/api/v1/layouts/{layout}").json()
    assert record["base"] == "base15" and record["classes"][-1]["name"] == "spot"
    assert not record["trained"] and not record["can_predict"]
    taken = {"name": "spots", "base": "base15", "classes": [{"name": "x", "color": [1, 2, 250]}]}
    assert client.post("/api/v1/layouts", json=taken).status_code == 409
    unknown_base = {**taken, "name": "other", "base": "nope"}
    assert client.post("/api/v1/layouts", json=unknown_base).status_code == 404
    too_close = {**taken, "name": "other", "classes": [{"name": "x", "color": [127, 212, 254]}]}
    answer = client.post("/api/v1/layouts", json=too_close)
    assert answer.status_code == 422 and "too close" in answer.json()["detail"]
    assert client.post("/api/v1/layouts", json={"name": "x"}).status_code == 422
    assert client.delete(f"/api/v1/layouts/{layout}").status_code == 204
    assert client.get(f"/api/v1/layouts/{layout}").status_code == 404
    assert client.delete(f"/api/v1/layouts/{layout}").status_code == 404


def test_samples_accept_indexed_rgb_and_multiples_and_round_trip(client):
    face, layout = _setup(client)
    indexed = _add_sample(client, layout, face, _png(_labels(), "P"), view="front")
    assert indexed.status_code == 201 and indexed.json()["view"] == {"name": "front"}
    colours = np.array([c.color for c in BUILTIN_LAYOUTS["base15"].classes] + [SPOT])
    rgb = _add_sample(client, layout, face, _png(colours[_labels()], "RGB"), yaw=0.2, pitch=0.1)
    assert rgb.status_code == 201 and rgb.json()["view"] == {"yaw": 0.2, "pitch": 0.1}
    doubled = _labels().repeat(2, axis=0).repeat(2, axis=1)
    double = _add_sample(client, layout, face, _png(doubled, "P"), view="left")
    assert double.status_code == 201
    samples = client.get(f"/api/v1/layouts/{layout}/samples").json()
    assert [s["id"] for s in samples] == [
        indexed.json()["id"],
        rgb.json()["id"],
        double.json()["id"],
    ]
    for sample in samples:
        url = f"/api/v1/layouts/{layout}/samples/{sample['id']}"
        assert client.get(url).json() == sample
        mask = Image.open(io.BytesIO(client.get(f"{url}/mask").content))
        assert mask.mode == "P"
        np.testing.assert_array_equal(np.asarray(mask), _labels())
    first = samples[0]["id"]
    assert client.delete(f"/api/v1/layouts/{layout}/samples/{first}").status_code == 204
    assert client.get(f"/api/v1/layouts/{layout}/samples/{first}").status_code == 404
    assert len(client.get(f"/api/v1/layouts/{layout}/samples").json()) == 2
    answer = client.delete(f"/api/v1/faces/{face}")
    assert answer.status_code == 409 and "samples" in answer.json()["detail"]


def test_bad_sample_uploads_are_rejected_and_store_nothing(client):
    face, layout = _setup(client)
    cases = [
        (_png(_labels(SIZE + 3), "P"), 422, f"{SIZE}×{SIZE}"),
        (_png(np.full((SIZE, SIZE, 3), 77), "RGB"), 422, f"{SIZE * SIZE:,} pixels have colours"),
        (_png(np.full((SIZE, SIZE), 40), "P"), 422, "< 16"),
        (b"GIF89a not a png", 422, "not a PNG"),
        (b"\x89PNG\r\n\x1a\n" + bytes(70 * 1024), 413, "bytes"),
    ]
    for mask, status, detail in cases:
        answer = _add_sample(client, layout, face, mask, view="front")
        assert answer.status_code == status, (answer.json(), detail)
        assert detail in answer.json()["detail"]
    assert _add_sample(client, layout, face, _png(_labels(), "P"), view="up").status_code == 422
    assert _add_sample(client, layout, "nope", _png(_labels(), "P")).status_code == 404
    assert _add_sample(client, "nope", face, _png(_labels(), "P")).status_code == 404
    assert client.get(f"/api/v1/layouts/{layout}/samples").json() == []


def test_training_needs_samples_then_trains_an_adapter_with_progress(client):
    face, layout = _setup(client)
    answer = client.post(f"/api/v1/layouts/{layout}/train")
    assert answer.status_code == 422 and "has 0" in answer.json()["detail"]
    _add_sample(client, layout, face, _png(_labels(), "P"), view="front")
    job = client.post(f"/api/v1/layouts/{layout}/train")
    assert job.status_code == 202 and job.json()["kind"] == "train-layout"
    with client.websocket_connect(f"/api/v1/jobs/{job.json()['id']}/events") as socket:
        events = []
        while not (
            events and events[-1]["type"] == "status" and events[-1]["status"] == "succeeded"
        ):
            events.append(socket.receive_json())
            assert events[-1].get("status") != "failed", events[-1]
    progress = [e for e in events if e["type"] == "progress"]
    fitting = [e for e in progress if "stage" not in e]
    assert fitting and all(e["step"] <= e["total"] == 3 for e in fitting)
    assert fitting[-1]["preview_png"] and "cross_entropy" in fitting[-1]["losses"]
    # the report comes from the fast trainer's own pool rays: no sample is rendered again
    assert not [e for e in progress if e.get("stage") == "checking the training samples"]
    assert progress[-1]["step"] == progress[-1]["total"] == 3
    record = client.get(f"/api/v1/layouts/{layout}").json()
    assert record["trained"] and record["can_predict"] and not record["training"]
    assert record["training_report"]["steps"] == 3
    result = client.get(f"/api/v1/jobs/{job.json()['id']}").json()["result"]
    classes = result["classes"]
    assert [c["name"] for c in classes] == [c["name"] for c in record["classes"]]
    assert [c["new"] for c in classes] == [False] * 15 + [True]
    spot = classes[-1]
    assert spot["painted_pixels"] == (SIZE // 4) ** 2
    assert spot["learned"] == (spot["iou"] is not None and spot["iou"] >= 0.2)
    assert sum(c["predicted_pixels"] for c in classes) == SIZE * SIZE
    assert record["training_report"]["classes"] == classes
    mask = client.get(f"/api/v1/faces/{face}/render", params={"kind": "mask", "layout": layout})
    assert Image.open(io.BytesIO(mask.content)).size == (SIZE, SIZE)


def test_training_twice_at_once_is_409_and_cancel_works(client):
    face, layout = _setup(client)
    _add_sample(client, layout, face, _png(_labels(), "P"), view="front")
    engine = client.app.state.engine
    engine.device_lock.acquire()  # the job starts and waits for the device
    try:
        job = client.post(f"/api/v1/layouts/{layout}/train").json()
        again = client.post(f"/api/v1/layouts/{layout}/train")
        assert again.status_code == 409 and "already" in again.json()["detail"]
        assert client.get(f"/api/v1/layouts/{layout}").json()["training"]
        assert client.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    finally:
        engine.device_lock.release()
    assert wait_for_job(client, job["id"])["status"] == "cancelled"
    assert not client.get(f"/api/v1/layouts/{layout}").json()["trained"]
    assert client.post("/api/v1/jobs/nope/cancel").status_code == 404
    assert client.delete(f"/api/v1/jobs/{job['id']}").status_code == 204
    assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 404


def test_edit_makes_a_new_face_whose_parent_is_the_source(client):
    face, _ = _setup(client)
    mask = _labels()
    mask[mask == 15] = 3
    job = client.post(
        f"/api/v1/faces/{face}/edits",
        data={"layout": "base15", "view": "front", "steps": "2", "seed": "1"},
        files={"mask": ("target.png", _png(mask, "P"), "image/png")},
    )
    assert job.status_code == 202 and job.json()["params"]["steps"] == 2
    done = wait_for_job(client, job.json()["id"])
    assert done["status"] == "succeeded", done["error"]
    outcome = done["result"]["outcome"]
    assert 0 <= outcome["reached"] <= outcome["painted"] and outcome["changed_elsewhere"] >= 0
    child = client.get(f"/api/v1/faces/{done['result']['face_id']}").json()
    assert child["parent_id"] == face and child["origin"]["edit"] == job.json()["id"]
    arrays = client.app.state.engine.storage.load_face_arrays(child["id"])
    assert {"plane_mean", "plane_std"} <= set(arrays)
    render = client.get(f"/api/v1/faces/{child['id']}/render")
    assert render.status_code == 200
    chained = client.post(
        f"/api/v1/faces/{child['id']}/edits",
        data={"layout": "base15", "steps": "1"},
        files={"mask": ("target.png", _png(mask, "P"), "image/png")},
    )
    assert wait_for_job(client, chained.json()["id"])["status"] == "succeeded"


def test_bad_edits_are_rejected_before_a_job_exists(client):
    face, layout = _setup(client)
    good = _png(_labels(), "P")
    cases = [
        (face, {"layout": layout}, good, 409),  # no adapter yet
        (face, {"layout": "base15"}, _png(_labels(SIZE * 2 + 1), "P"), 422),
        (face, {"layout": "base15"}, good, 422),  # class 15 is not in base15
        (face, {"layout": "base15", "steps": "999"}, _png(np.ones((SIZE, SIZE)), "P"), 422),
        (face, {"layout": "nope"}, good, 404),
        ("nope", {"layout": "base15"}, good, 404),
    ]
    for face_id, form, mask, status in cases:
        answer = client.post(
            f"/api/v1/faces/{face_id}/edits", data=form, files={"mask": ("m.png", mask)}
        )
        assert answer.status_code == status, (form, answer.json())
        assert set(answer.json()) == {"error", "detail"}
    assert client.get("/api/v1/jobs").json() == []


def test_an_edit_toward_the_faces_own_mask_is_refused(client):
    face, _ = _setup(client)
    own = client.get(f"/api/v1/faces/{face}/render", params={"kind": "mask", "view": "front"})
    assert own.status_code == 200
    answer = client.post(
        f"/api/v1/faces/{face}/edits",
        data={"layout": "base15", "view": "front"},
        files={"mask": ("own.png", own.content, "image/png")},
    )
    assert answer.status_code == 422 and "paint the change you want" in answer.json()["detail"]
    assert client.get("/api/v1/jobs").json() == []


def test_unknown_job_ids_are_404_over_http_and_websocket(client):
    assert client.get("/api/v1/jobs/nope").status_code == 404
    with client.websocket_connect("/api/v1/jobs/nope/events") as socket:
        assert socket.receive_json()["error"] == "not found"


def test_a_restart_keeps_faces_layouts_samples_adapters_and_jobs(client, settings):
    face, layout = _setup(client)
    _add_sample(client, layout, face, _png(_labels(), "P"), view="front")
    job = client.post(f"/api/v1/layouts/{layout}/train").json()
    assert wait_for_job(client, job["id"])["status"] == "succeeded"
    before = {
        path: client.get(path).json()
        for path in (
            f"/api/v1/faces/{face}",
            f"/api/v1/layouts/{layout}",
            f"/api/v1/layouts/{layout}/samples",
            f"/api/v1/jobs/{job['id']}",
        )
    }
    mask = client.get(f"/api/v1/faces/{face}/mask", params={"layout": layout}).content
    client.__exit__(None, None, None)
    with TestClient(create_app(settings), headers=bearer(settings)) as restarted:
        for path, answer in before.items():
            assert restarted.get(path).json() == answer
        again = restarted.get(f"/api/v1/faces/{face}/mask", params={"layout": layout}).content
        assert again == mask
        names = [item["name"] for item in restarted.get("/api/v1/layouts").json()]
        assert names == [*BUILTIN_LAYOUTS, "spots"]
