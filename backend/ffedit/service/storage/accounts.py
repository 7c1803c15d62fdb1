"""`AccountStore`: the users, their sessions and their API tokens, in the data folder's
database (the tables `users`, `sessions`, `api_tokens` of `schema`).

Only the SQL lives here; `ffedit.service.accounts` holds the rules (password hashes, secrets,
expiry, login throttling). Secrets are stored only as hashes (`secret_hash`). It opens its
own connection and touches no file, so `ffedit users …` can use it while a server runs:
SQLite's WAL lets both write, and a deleted user or token is gone for the server's very next
request. Deleting a user deletes their sessions and tokens (foreign keys, ON DELETE CASCADE).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

from ffedit.service.errors import Conflict, NotFound
from ffedit.service.storage.records import TokenRecord, UserRecord, new_id
from ffedit.service.storage.schema import immediate_transaction, open_database

LAST_USED_RESOLUTION_S = 60.0
"""A token's last-used time is written at most once a minute (not on every request)."""


def _user(row: sqlite3.Row) -> UserRecord:
    return UserRecord(row["id"], row["name"], bool(row["admin"]), row["created_at"])


def _token(row: sqlite3.Row) -> TokenRecord:
    return TokenRecord(
        row["id"], row["user_id"], row["name"], row["created_at"], row["last_used_at"]
    )


class AccountStore:
    """Users, sessions and API tokens of one data folder; safe to share between threads."""

    def __init__(self, data_dir: Path) -> None:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = open_database(Path(data_dir))

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> AccountStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------- users

    def add_user(self, name: str, password_hash: str, admin: bool) -> UserRecord:
        """A new user (`Conflict` when the name is taken, in any letter case)."""
        user_id = new_id()
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO users (id, name, password_hash, admin, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (user_id, name, password_hash, int(admin), time.time()),
                )
        except sqlite3.IntegrityError as error:
            raise Conflict(f"a user named {name!r} exists already") from error
        return self.user(user_id)

    def user(self, user_id: str) -> UserRecord:
        with self._transaction() as db:
            row = db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise NotFound("user", user_id)
        return _user(row)

    def password_hash_of(self, name: str) -> tuple[UserRecord, str] | None:
        """The user called `name` (any letter case) and their password hash; None if none."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return None if row is None else (_user(row), row["password_hash"])

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    def list_users(self) -> list[UserRecord]:
        """Every user, oldest first."""
        with self._transaction() as db:
            rows = db.execute("SELECT * FROM users ORDER BY created_at, rowid").fetchall()
        return [_user(row) for row in rows]

    def first_admin(self) -> UserRecord | None:
        """The oldest admin (None without one)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM users WHERE admin = 1 ORDER BY created_at, rowid LIMIT 1"
            ).fetchone()
        return None if row is None else _user(row)

    def delete_user(self, name: str) -> UserRecord:
        """Delete the user called `name` with their sessions and tokens; returns who it was."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound("user", name)
            db.execute("DELETE FROM users WHERE id = ?", (row["id"],))
        return _user(row)

    # ------------------------------------------------------------- sessions

    def add_session(self, user_id: str, secret_hash: str, expires_at: float) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM sessions WHERE expires_at <= ?", (time.time(),))
            db.execute(
                "INSERT INTO sessions (secret_hash, user_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (secret_hash, user_id, time.time(), expires_at),
            )

    def session_user(self, secret_hash: str) -> UserRecord | None:
        """The user of an unexpired session (None: unknown, expired, logged out)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT users.* FROM sessions JOIN users ON users.id = sessions.user_id"
                " WHERE sessions.secret_hash = ? AND sessions.expires_at > ?",
                (secret_hash, time.time()),
            ).fetchone()
        return None if row is None else _user(row)

    def delete_session(self, secret_hash: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM sessions WHERE secret_hash = ?", (secret_hash,))

    # --------------------------------------------------------------- tokens

    def add_token(self, user_id: str, name: str, secret_hash: str) -> TokenRecord:
        token_id = new_id()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO api_tokens (id, user_id, name, secret_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_id, user_id, name, secret_hash, time.time()),
            )
            row = db.execute("SELECT * FROM api_tokens WHERE id = ?", (token_id,)).fetchone()
        return _token(row)

    def token_user(self, secret_hash: str) -> UserRecord | None:
        """The user of an API token (None: unknown or revoked); stamps its last use."""
        now = time.time()
        with self._transaction() as db:
            row = db.execute(
                "SELECT users.*, api_tokens.id AS token_id, api_tokens.last_used_at"
                " FROM api_tokens JOIN users ON users.id = api_tokens.user_id"
                " WHERE api_tokens.secret_hash = ?",
                (secret_hash,),
            ).fetchone()
            if row is None:
                return None
            if row["last_used_at"] is None or now - row["last_used_at"] >= LAST_USED_RESOLUTION_S:
                db.execute(
                    "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, row["token_id"])
                )
        return _user(row)

    def list_tokens(self, user_id: str) -> list[TokenRecord]:
        """The user's tokens, oldest first."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at, rowid",
                (user_id,),
            ).fetchall()
        return [_token(row) for row in rows]

    def delete_token(self, user_id: str, token_id: str) -> None:
        """Revoke the user's token `token_id` (`NotFound` when it is not theirs)."""
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM api_tokens WHERE id = ? AND user_id = ?", (token_id, user_id)
            )
        if cursor.rowcount == 0:
            raise NotFound("token", token_id)

    # ------------------------------------------------------------ internals

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._connection, self._lock)
