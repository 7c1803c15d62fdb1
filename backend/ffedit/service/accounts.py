"""Accounts of a multi-user server: users with argon2id password hashes, login sessions,
personal API tokens, and the login throttle. The API's authenticator and `ffedit users …`
call only this; the SQL is `ffedit.service.storage.AccountStore`'s.

- Passwords are hashed with argon2id (argon2-cffi's `PasswordHasher`, RFC 9106's
  low-memory profile) and rehashed at login when those parameters change. A login for an
  unknown name still verifies a hash, so its answer takes as long as a wrong password's.
- Sessions and API tokens are 32 random bytes (URL-safe base64; tokens start `ffedit_`);
  the database keeps only their SHA-256 (they are random, not guessable: a slow hash would
  only slow every request). A session lasts `session_s`; logging out or deleting the user
  ends it at once, as revoking a token does.
- `LoginThrottle`: at most `attempts_per_account` failed logins per account name and
  `attempts_per_address` per client address within `window_s`; beyond, `TooManyAttempts`
  says how many seconds to wait, before any password is checked. An attempt counts as
  failed from its start (check and count are one step), so parallel guesses cannot pass
  the limit together; a right password takes it back.
- At most `MAX_PARALLEL_HASHES` password hashes run at once: each takes argon2's 64 MiB.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ffedit.service.errors import (
    InvalidCredentials,
    InvalidRequest,
    NoAccounts,
    NotFound,
    TooManyAttempts,
)
from ffedit.service.storage import AccountStore, TokenRecord, UserRecord

USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused before hashing (argon2 would hash megabytes)."""
SECRET_BYTES = 32
TOKEN_PREFIX = "ffedit_"
WRONG_LOGIN = "wrong user name or password"
CREATE_ADMIN = "ffedit users create NAME --admin"
MAX_PARALLEL_HASHES = 2


def secret_hash(secret: str) -> str:
    """What the database keeps of a session or token secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_user_name(name: str) -> str:
    if not USER_NAME.fullmatch(name):
        raise InvalidRequest(
            "a user name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
            f"or digit; {name!r} is not"
        )
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    return password


class LoginThrottle:
    """Failed logins counted per account name and per client address, in a sliding window."""

    def __init__(
        self,
        attempts_per_account: int = 5,
        attempts_per_address: int = 20,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"account": attempts_per_account, "address": attempts_per_address}
        self._window_s = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def begin(self, account: str, address: str) -> float:
        """Count an attempt as failed (returns its time, for `succeeded`); `TooManyAttempts`
        (with the seconds to wait), counting nothing, while either key is at its limit."""
        with self._lock:
            keys = self._keys(account, address)
            for key in keys:
                failures = self._recent(key)
                if len(failures) >= self._limits[key[0]]:
                    wait = max(1, math.ceil(failures[0] + self._window_s - self._clock()))
                    whose = "for this account" if key[0] == "account" else "from this address"
                    raise TooManyAttempts(
                        f"too many failed logins {whose}; try again in {wait} seconds", wait
                    )
            now = self._clock()
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
            return now

    def succeeded(self, account: str, address: str, began: float) -> None:
        """A right password: its attempt is taken back, and its account's failures cleared
        (not its address's)."""
        with self._lock:
            self._failures.pop(("account", account.lower()), None)
            failures = self._failures.get(("address", address))
            if failures is not None and began in failures:
                failures.remove(began)

    def _keys(self, account: str, address: str) -> tuple[tuple[str, str], ...]:
        return ("account", account.lower()), ("address", address)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= self._clock() - self._window_s:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures


@dataclass(frozen=True)
class NewToken:
    """A token just made: its record and its secret (shown once, never stored)."""

    record: TokenRecord
    secret: str


class Accounts:
    """The accounts of one data folder (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        session_s: float = 7 * 24 * 3600,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.store = AccountStore(data_dir)
        self.session_s = session_s
        self.throttle = throttle or LoginThrottle()
        self._hasher = PasswordHasher()
        self._hashing = threading.BoundedSemaphore(MAX_PARALLEL_HASHES)
        self._unknown_user_hash = self._hasher.hash(secrets.token_urlsafe(SECRET_BYTES))

    def close(self) -> None:
        self.store.close()

    # ---------------------------------------------------------------- users

    def create_user(self, name: str, password: str, admin: bool = False) -> UserRecord:
        """A new user (`InvalidRequest` for a bad name or password, `Conflict` if taken)."""
        with self._hashing:
            password_hash = self._hasher.hash(check_password(password))
        return self.store.add_user(check_user_name(name), password_hash, admin)

    def list_users(self) -> list[UserRecord]:
        return self.store.list_users()

    def delete_user(self, name: str) -> UserRecord:
        """Delete a user; their sessions and tokens stop working at once."""
        return self.store.delete_user(name)

    def user_named(self, name: str) -> UserRecord:
        found = self.store.password_hash_of(name)
        if found is None:
            raise NotFound("user", name)
        return found[0]

    def first_admin(self) -> UserRecord:
        """The oldest admin; `NoAccounts` saying how to create one when there is none."""
        admin = self.store.first_admin()
        if admin is None:
            raise NoAccounts(
                "multi-user mode (FFEDIT_USERS=on) has no admin account yet: create one with "
                f"`{CREATE_ADMIN}` (it asks for the password), then start the server again"
            )
        return admin

    # --------------------------------------------------------- log in / out

    def log_in(self, name: str, password: str, address: str) -> tuple[UserRecord, str]:
        """Check a password; the user and a new session's secret. `TooManyAttempts` before
        any check while throttled, `InvalidCredentials` for a wrong name or password."""
        began = self.throttle.begin(name, address)
        found = self.store.password_hash_of(name)
        too_long = len(password) > MAX_PASSWORD_LENGTH
        stored = self._unknown_user_hash if found is None or too_long else found[1]
        with self._hashing:
            right = self._verify(stored, password[:MAX_PASSWORD_LENGTH])
        if found is None or too_long or not right:
            raise InvalidCredentials(WRONG_LOGIN)
        self.throttle.succeeded(name, address, began)
        user = found[0]
        if self._hasher.check_needs_rehash(stored):
            with self._hashing:
                self.store.set_password_hash(user.id, self._hasher.hash(password))
        secret = secrets.token_urlsafe(SECRET_BYTES)
        self.store.add_session(user.id, secret_hash(secret), time.time() + self.session_s)
        return user, secret

    def session_user(self, secret: str) -> UserRecord | None:
        return self.store.session_user(secret_hash(secret))

    def log_out(self, secret: str) -> None:
        self.store.delete_session(secret_hash(secret))

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    # --------------------------------------------------------------- tokens

    def create_token(self, user_id: str, name: str) -> NewToken:
        """A new API token of the user; its secret is returned once and stored as a hash."""
        if not 1 <= len(name) <= 64:
            raise InvalidRequest("a token's name has 1 to 64 characters")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
        return NewToken(self.store.add_token(user_id, name, secret_hash(secret)), secret)

    def list_tokens(self, user_id: str) -> list[TokenRecord]:
        return self.store.list_tokens(user_id)

    def revoke_token(self, user_id: str, token_id: str) -> None:
        """Revoke a token of the user (`NotFound` for another user's): refused from the next
        request on."""
        self.store.delete_token(user_id, token_id)

    def token_user(self, secret: str) -> UserRecord | None:
        return self.store.token_user(secret_hash(secret))
