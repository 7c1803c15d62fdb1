"""Meshes over the API, on the shipped model (a random tiny generator has no face surface):
`POST /faces/{id}/meshes` is a job whose GLB or PLY opens in trimesh with colours and
classes, the export ZIP holds both, and bad input answers with a clear 4xx."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import trimesh
from api_helpers import bearer, wait_for_job
from fastapi.testclient import TestClient

from ffedit.api.app import create_app

API = "/api/v1"
GRID = 40
"""A small lattice: a mesh job of about a second."""


@pytest.fixture
def shipped_client(settings, shipped_model):
    shipped = settings.model_copy(update={"model": shipped_model})
    with TestClient(create_app(shipped), headers=bearer(shipped)) as running:
        yield running


@pytest.fixture
def face(shipped_client) -> str:
    return shipped_client.post(f"{API}/faces", json={"seed": 4}).json()["id"]


def _mesh_file(client, face: str, **params) -> bytes:
    answer = client.post(f"{API}/faces/{face}/meshes", params={"grid": GRID, **params})
    assert answer.status_code == 202, answer.text
    job = wait_for_job(client, answer.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["vertices"] > 500 and job["result"]["triangles"] > 500
    download = client.get(f"{API}/jobs/{job['id']}/download")
    assert download.status_code == 200
    return download


def test_a_glb_mesh_job_downloads_a_coloured_labelled_mesh(shipped_client, face):
    download = _mesh_file(shipped_client, face, format="glb")
    assert download.headers["content-type"] == "model/gltf-binary"
    assert download.headers["content-disposition"].endswith(f'face-{face}.glb"')
    scene = trimesh.load(io.BytesIO(download.content), file_type="glb")
    (mesh,) = scene.geometry.values()
    classes = mesh.vertex_attributes["_CLASS"].reshape(-1)
    assert len(classes) == len(mesh.vertices) and 1 in classes  # skin
    assert mesh.visual.vertex_colors[:, :3].std() > 5
    assert mesh.metadata["layout"] == "base15"


def test_a_ply_mesh_in_a_layout_with_an_adapter_carries_its_classes(shipped_client, face):
    download = _mesh_file(shipped_client, face, format="ply", layout="base17")
    mesh = trimesh.load(io.BytesIO(download.content), file_type="ply")
    classes = mesh.metadata["_ply_raw"]["vertex"]["data"]["class"].reshape(-1)
    assert len(classes) == len(mesh.vertices)
    assert classes.max() < 17 and 1 in classes


def test_the_same_mesh_again_answers_with_its_job(shipped_client, face):
    params = {"grid": GRID, "format": "ply"}
    first = shipped_client.post(f"{API}/faces/{face}/meshes", params=params).json()
    wait_for_job(shipped_client, first["id"])
    again = shipped_client.post(f"{API}/faces/{face}/meshes", params=params).json()
    assert again["id"] == first["id"]


def test_the_export_zip_holds_the_glb_and_ply_meshes(shipped_client, face):
    job = shipped_client.post(f"{API}/faces/{face}/exports", params={"frames": 2}).json()
    assert wait_for_job(shipped_client, job["id"], timeout_s=120)["status"] == "succeeded"
    archive = zipfile.ZipFile(
        io.BytesIO(shipped_client.get(f"{API}/jobs/{job['id']}/download").content)
    )
    glb = trimesh.load(io.BytesIO(archive.read("mesh.glb")), file_type="glb")
    ply = trimesh.load(io.BytesIO(archive.read("mesh.ply")), file_type="ply")
    (from_glb,) = glb.geometry.values()
    assert np.allclose(from_glb.vertices, ply.vertices)


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"layout": "no-such-layout"}, 404, "layout"),
        ({"grid": 8}, 422, "grid"),
        ({"grid": 4096}, 422, "grid"),
        ({"format": "obj"}, 422, "format"),
    ],
)
def test_bad_mesh_requests_say_what_was_wrong(shipped_client, face, params, status, words):
    answer = shipped_client.post(f"{API}/faces/{face}/meshes", params=params)
    assert answer.status_code == status, answer.text
    assert words in answer.text


def test_a_layout_without_an_adapter_is_told_to_train_it(shipped_client, face):
    body = {"name": "spots", "base": "base15", "classes": [{"name": "spot", "color": [9, 9, 9]}]}
    layout = shipped_client.post(f"{API}/layouts", json=body).json()["id"]
    answer = shipped_client.post(f"{API}/faces/{face}/meshes", params={"layout": layout})
    assert answer.status_code == 409
    assert "has no trained adapter yet" in answer.json()["detail"]


def test_an_unknown_face_is_not_found(shipped_client):
    answer = shipped_client.post(f"{API}/faces/AAAAAAAAAAA/meshes")
    assert answer.status_code == 404 and answer.json()["error"] == "not found"


def test_the_engine_hides_another_owners_face_and_checks_before_queueing(tiny_model, tmp_path):
    from ffedit.service.engine import Engine, EngineConfig
    from ffedit.service.errors import InvalidRequest, NoAdapter, NotFound

    engine = Engine(EngineConfig(model=tiny_model, data_dir=tmp_path / "data", torch_threads=1))
    try:
        face = engine.create_face_from_seed("alice", 1).id
        with pytest.raises(NotFound):
            engine.submit_mesh("bob", face)
        with pytest.raises(InvalidRequest, match="grid must be from 32 to 256"):
            engine.submit_mesh("alice", face, grid=16)
        with pytest.raises(InvalidRequest, match="format must be one of glb, ply"):
            engine.submit_mesh("alice", face, file_format="obj")
        layout = engine.create_layout("alice", "spots", "base15", [("spot", (9, 9, 9))]).id
        with pytest.raises(NoAdapter, match="has no trained adapter yet"):
            engine.submit_mesh("alice", face, layout)
        assert engine.list_jobs("alice") == []  # nothing was queued
    finally:
        engine.close()
