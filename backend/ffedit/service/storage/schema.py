"""The storage's SQLite schema (version `SCHEMA_VERSION`, kept in `PRAGMA user_version`), its
migration from older data folders, and the file layout constants of the data directory.

Version 2 gave every face, custom layout, sample and job an `owner` (a user id, or
`SINGLE_USER_OWNER`; built-in layouts have none: they are shared) and added the accounts
(`users`, their `sessions` and `api_tokens`). A version-1 folder is migrated when it is
opened: its records get no owner, and `Storage.adopt_unowned` gives them to the single-user
owner or the first admin when the server starts. Layout names became unique per owner.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ffedit.service.errors import StorageError

DATABASE_NAME = "ffedit.sqlite3"
WS_FILE_NAME = "latent.safetensors"
WS_KEY = "latent"
"""A face's ws file and key: named 'latent' on disk since the first data folders (kept so
that they stay readable); what they hold is ws (num_ws, w_dim), never z."""
ADAPTER_DIR_PREFIX = "adapter-"
SCHEMA_VERSION = 2

_LAYOUTS = """
CREATE TABLE {table} (
    id TEXT PRIMARY KEY,
    owner TEXT,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    builtin INTEGER NOT NULL,
    created_at REAL NOT NULL,
    adapter_dir TEXT,
    training_report TEXT,
    UNIQUE (owner, name)
)"""

_ACCOUNTS = """
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    admin INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE sessions (
    secret_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    last_used_at REAL
);
CREATE INDEX api_tokens_by_user ON api_tokens(user_id);
CREATE INDEX faces_by_owner ON faces(owner);
CREATE INDEX jobs_by_owner ON jobs(owner, status);
"""

_SCHEMA = f"""
CREATE TABLE faces (
    id TEXT PRIMARY KEY,
    owner TEXT,
    origin TEXT NOT NULL,
    parent_id TEXT REFERENCES faces(id) ON DELETE SET NULL,
    created_at REAL NOT NULL
);
{_LAYOUTS.format(table="layouts")};
CREATE TABLE samples (
    id TEXT PRIMARY KEY,
    owner TEXT,
    layout_id TEXT NOT NULL REFERENCES layouts(id) ON DELETE CASCADE,
    face_id TEXT NOT NULL REFERENCES faces(id) ON DELETE RESTRICT,
    view TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX samples_by_layout ON samples(layout_id);
CREATE INDEX samples_by_face ON samples(face_id);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    owner TEXT,
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
{_ACCOUNTS}
"""

_FROM_VERSION_1 = f"""
ALTER TABLE faces ADD COLUMN owner TEXT;
ALTER TABLE samples ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN owner TEXT;
{_LAYOUTS.format(table="layouts_v2")};
INSERT INTO layouts_v2 (id, name, definition, builtin, created_at, adapter_dir, training_report)
    SELECT id, name, definition, builtin, created_at, adapter_dir, training_report
    FROM layouts ORDER BY rowid;
DROP TABLE layouts;
ALTER TABLE layouts_v2 RENAME TO layouts;
{_ACCOUNTS}
"""


def _run(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate(db: sqlite3.Connection, data_dir: object) -> None:
    """Create or migrate the tables (in one transaction); a database of a newer schema is a
    `StorageError`."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{data_dir} was written by a newer ffedit (schema {version},"
            f" this one reads {SCHEMA_VERSION})"
        )
    if version == SCHEMA_VERSION:
        return
    _run(db, _SCHEMA if version == 0 else _FROM_VERSION_1)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def open_database(data_dir: Path) -> sqlite3.Connection:
    """The data folder's database (created or migrated first), in autocommit mode with WAL,
    foreign keys on and a busy timeout; shareable between threads (the caller locks)."""
    connection = sqlite3.connect(
        Path(data_dir) / DATABASE_NAME, check_same_thread=False, isolation_level=None
    )
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a power cut may lose the last commits but never corrupts the
    # database; files are flushed before their row, so a lost row leaves only leftovers.
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=5000")
    # Foreign keys stay off while migrating: rebuilding `layouts` must not cascade.
    connection.execute("BEGIN IMMEDIATE")
    try:
        _migrate(connection, data_dir)
        if connection.execute("PRAGMA foreign_key_check").fetchone() is not None:
            raise StorageError(f"{data_dir}: the migrated records do not fit together")
    except BaseException:
        connection.execute("ROLLBACK")
        connection.close()
        raise
    connection.execute("COMMIT")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


@contextmanager
def immediate_transaction(
    connection: sqlite3.Connection, lock: threading.Lock
) -> Iterator[sqlite3.Connection]:
    """One write transaction on `connection` (BEGIN IMMEDIATE; rolled back on any error),
    with `lock` held so that the connection's threads take turns."""
    with lock:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
