"""The storage's SQLite schema (version `SCHEMA_VERSION`, kept in `PRAGMA user_version`) and
the file layout constants of the data directory."""

from __future__ import annotations

import sqlite3

from ffedit.service.errors import StorageError

DATABASE_NAME = "ffedit.sqlite3"
WS_FILE_NAME = "latent.safetensors"
WS_KEY = "latent"
"""A face's ws file and key: named 'latent' on disk since the first data folders (kept so
that they stay readable); what they hold is ws (num_ws, w_dim), never z."""
ADAPTER_DIR_PREFIX = "adapter-"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE faces (
    id TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    parent_id TEXT REFERENCES faces(id) ON DELETE SET NULL,
    created_at REAL NOT NULL
);
CREATE TABLE layouts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    builtin INTEGER NOT NULL,
    created_at REAL NOT NULL,
    adapter_dir TEXT,
    training_report TEXT
);
CREATE TABLE samples (
    id TEXT PRIMARY KEY,
    layout_id TEXT NOT NULL REFERENCES layouts(id) ON DELETE CASCADE,
    face_id TEXT NOT NULL REFERENCES faces(id) ON DELETE RESTRICT,
    view TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX samples_by_layout ON samples(layout_id);
CREATE INDEX samples_by_face ON samples(face_id);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    progress TEXT NOT NULL,
    result TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
"""


def create_schema(db: sqlite3.Connection, data_dir: object) -> None:
    """Create the tables of a new database (inside the caller's transaction); a database of
    a newer schema is a `StorageError`."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{data_dir} was written by a newer ffedit (schema {version},"
            f" this one reads {SCHEMA_VERSION})"
        )
    if version == 0:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
