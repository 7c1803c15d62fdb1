"""Accounts: argon2id hashes, sessions and tokens stored as hashes only, and the login
throttle's window (a fake clock)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from ffedit.service.accounts import Accounts, LoginThrottle, secret_hash
from ffedit.service.errors import InvalidCredentials, InvalidRequest, TooManyAttempts
from ffedit.service.storage import DATABASE_NAME


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_throttle_counts_failures_in_a_sliding_window():
    clock = Clock()
    throttle = LoginThrottle(
        attempts_per_account=2, attempts_per_address=3, window_s=60, clock=clock
    )
    throttle.begin("Ada", "1.2.3.4")
    clock.now += 10
    throttle.begin("ada", "1.2.3.4")  # names in any case are one account
    with pytest.raises(TooManyAttempts, match="for this account; try again in 50 seconds") as hit:
        throttle.begin("ADA", "5.6.7.8")
    assert hit.value.retry_after_s == 50
    began = throttle.begin("bo", "1.2.3.4")
    throttle.succeeded("bo", "1.2.3.4", began)  # a right password is taken back
    throttle.begin("cy", "1.2.3.4")
    with pytest.raises(TooManyAttempts, match="from this address"):
        throttle.begin("di", "1.2.3.4")
    clock.now += 51  # the first failure left the window
    throttle.begin("ada", "9.9.9.9")


def test_passwords_are_argon2id_and_secrets_are_stored_as_hashes(tmp_path):
    accounts = Accounts(tmp_path)
    try:
        ada = accounts.create_user("ada", "correct horse")
        with pytest.raises(InvalidRequest):
            accounts.create_user("x y", "correct horse")
        with pytest.raises(InvalidRequest):
            accounts.create_user("cy", "short")
        with pytest.raises(InvalidCredentials):
            accounts.log_in("ada", "wrong horse", "a")
        with pytest.raises(InvalidCredentials):
            accounts.log_in("nobody", "correct horse", "a")
        user, session = accounts.log_in("ada", "correct horse", "a")
        assert user == ada and accounts.session_user(session) == ada
        token = accounts.create_token(ada.id, "ci").secret
        assert accounts.token_user(token) == ada
        accounts.log_out(session)
        assert accounts.session_user(session) is None
    finally:
        accounts.close()
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
        stored = " ".join(str(v) for row in db.execute("SELECT * FROM api_tokens") for v in row)
        stored += " ".join(str(row[0]) for row in db.execute("SELECT password_hash FROM users"))
    assert token not in stored and secret_hash(token) in stored
    assert "correct horse" not in stored and "$argon2id$" in stored


def test_a_session_ends_when_it_expires(tmp_path):
    accounts = Accounts(tmp_path, session_s=0.05)
    try:
        accounts.create_user("ada", "correct horse")
        _, session = accounts.log_in("ada", "correct horse", "a")
        assert accounts.session_user(session) is not None
        time.sleep(0.1)
        assert accounts.session_user(session) is None
    finally:
        accounts.close()
