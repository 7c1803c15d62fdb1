"""Ownership in the storage: each owner sees only their own records (and the shared built-in
layouts), limits count per owner, and a data folder of schema 1 (before owners) is migrated
when opened, its records adopted by one owner."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ffedit.service.errors import Conflict, DiskQuotaReached, LimitReached, NotFound
from ffedit.service.storage import (
    DATABASE_NAME,
    SCHEMA_VERSION,
    SINGLE_USER_OWNER,
    Storage,
    StoredLimits,
)

WS = np.zeros((2, 4), np.float32)
MASK = b"\x89PNG\r\n\x1a\n mask"
SCHEMA_1 = """
CREATE TABLE faces (id TEXT PRIMARY KEY, origin TEXT NOT NULL,
    parent_id TEXT REFERENCES faces(id) ON DELETE SET NULL, created_at REAL NOT NULL);
CREATE TABLE layouts (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, definition TEXT NOT NULL,
    builtin INTEGER NOT NULL, created_at REAL NOT NULL, adapter_dir TEXT, training_report TEXT);
CREATE TABLE samples (id TEXT PRIMARY KEY,
    layout_id TEXT NOT NULL REFERENCES layouts(id) ON DELETE CASCADE,
    face_id TEXT NOT NULL REFERENCES faces(id) ON DELETE RESTRICT,
    view TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,
    params TEXT NOT NULL, progress TEXT NOT NULL, result TEXT, error TEXT,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL);
INSERT INTO faces VALUES ('f1', '{"seed": 1}', NULL, 1);
INSERT INTO layouts VALUES ('b1', 'base15', '{"classes": []}', 1, 1, NULL, NULL);
INSERT INTO layouts VALUES ('l1', 'spots', '{"classes": []}', 0, 2, NULL, NULL);
INSERT INTO samples VALUES ('s1', 'l1', 'f1', '{"name": "front"}', 3);
INSERT INTO jobs VALUES ('j1', 'export', 'succeeded', '{}', '{}', NULL, NULL, 4, 4, 5);
PRAGMA user_version = 1;
"""


@pytest.fixture
def storage(tmp_path: Path):
    with Storage(tmp_path / "data") as opened:
        yield opened


def test_each_owner_sees_only_their_own(storage):
    face = storage.add_face(WS, {"seed": 1}, owner="a")
    base = storage.add_layout("base15", {"classes": []}, builtin=True)
    layout = storage.add_layout("spots", {"classes": []}, owner="a")
    sample = storage.add_sample(layout.id, face.id, {"name": "front"}, MASK, owner="a")
    job = storage.add_job("export", {}, owner="a")
    assert storage.list_faces("b") == [] and storage.list_jobs(owner="b") == []
    assert [record.id for record in storage.list_layouts("b")] == [base.id]
    assert storage.get_layout(base.id, owner="b").owner is None  # built-ins are shared
    for read in (
        lambda: storage.get_face(face.id, owner="b"),
        lambda: storage.delete_face(face.id, owner="b"),
        lambda: storage.get_layout(layout.id, owner="b"),
        lambda: storage.delete_layout(layout.id, owner="b"),
        lambda: storage.list_samples(layout.id, owner="b"),
        lambda: storage.get_sample(sample.id, owner="b"),
        lambda: storage.delete_sample(sample.id, owner="b"),
        lambda: storage.get_job(job.id, owner="b"),
        lambda: storage.delete_job(job.id, owner="b"),
        lambda: storage.add_sample(layout.id, face.id, {}, MASK, owner="b"),
        lambda: storage.add_face(WS, {}, parent_id=face.id, owner="b"),
    ):
        with pytest.raises(NotFound):
            read()
    assert storage.add_layout("spots", {"classes": []}, owner="b").owner == "b"
    with pytest.raises(Conflict):
        storage.add_layout("spots", {"classes": []}, owner="a")
    with pytest.raises(Conflict):  # a built-in's name is everyone's
        storage.add_layout("base15", {"classes": []}, owner="b")
    assert storage.get_face(face.id, owner=None).owner == "a"  # the service's own reads


def test_limits_count_per_owner(tmp_path):
    limits = StoredLimits(faces=1, queued_jobs=1, disk_bytes=400)
    with Storage(tmp_path / "data", limits=limits) as storage:
        storage.add_face(WS, {}, owner="a")
        with pytest.raises(LimitReached, match="per user"):
            storage.add_face(WS, {}, owner="a")
        storage.add_face(WS, {}, owner="b")
        storage.add_job("export", {}, owner="a")
        with pytest.raises(LimitReached, match="jobs waiting"):
            storage.add_job("export", {}, owner="a")
        assert storage.disk_bytes("a") > 0
        with pytest.raises(DiskQuotaReached, match="each user may keep"):
            storage.add_job("edit", {}, {"mask.png": b"x" * 400}, owner="b")
        assert [job.owner for job in storage.list_jobs(owner="b")] == []


def test_a_schema_1_folder_is_migrated_and_adopted(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / DATABASE_NAME) as db:
        db.executescript(SCHEMA_1)
    for folder in ("faces/f1", "layouts/b1/samples", "layouts/l1/samples", "jobs/j1"):
        (data / folder).mkdir(parents=True)
    (data / "layouts/l1/samples/s1.png").write_bytes(MASK)
    with Storage(data) as storage:
        assert storage.list_faces(SINGLE_USER_OWNER) == []  # not yet adopted
        assert storage.adopt_unowned(SINGLE_USER_OWNER) == 4  # face, layout, sample, job
        assert [face.id for face in storage.list_faces()] == ["f1"]
        assert [layout.name for layout in storage.list_layouts()] == ["base15", "spots"]
        assert storage.get_layout("b1").owner is None and storage.get_layout("b1").builtin
        assert [sample.id for sample in storage.list_samples("l1")] == ["s1"]
        assert storage.get_job("j1").owner == SINGLE_USER_OWNER
        storage.add_layout("spots", {"classes": []}, owner="someone")  # unique per owner now
        assert storage.adopt_unowned("admin", or_no_account=True) == 4  # no such account
        assert storage.list_faces() == [] and len(storage.list_faces("admin")) == 1
        assert len(storage.list_layouts("admin")) == 2  # someone's "spots" stays: a taken name
        assert (data / "layouts/l1/samples/s1.png").is_file(), "no file was lost"
    with sqlite3.connect(data / DATABASE_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
