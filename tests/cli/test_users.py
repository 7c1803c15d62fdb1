"""`ffedit users …` and `ffedit tokens …` on a data folder: the password comes from stdin
(never argv), a token is printed once and works until revoked, a deleted user's token stops
working; `ffedit serve` in multi-user mode without an admin says what to run."""

from __future__ import annotations

import io

from ffedit.cli import main
from ffedit.service.accounts import Accounts


def _run(monkeypatch, capsys, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _token_user(folder, secret: str) -> str | None:
    accounts = Accounts(folder)
    try:
        user = accounts.token_user(secret)
        return None if user is None else user.name
    finally:
        accounts.close()


def test_users_and_tokens_from_the_command_line(tmp_path, monkeypatch, capsys):
    data = ["--data-dir", str(tmp_path)]
    made = _run(
        monkeypatch, capsys, "users", "create", "ada", "--admin", *data, stdin="horse1234\n"
    )
    assert made[0] == 0 and "created admin 'ada'" in made[1]
    assert _run(monkeypatch, capsys, "users", "create", "bo", *data, stdin="staple123")[0] == 0
    taken = _run(monkeypatch, capsys, "users", "create", "ADA", *data, stdin="whatever12")
    assert taken[0] == 1 and "exists already" in taken[2]
    short = _run(monkeypatch, capsys, "users", "create", "cy", *data, stdin="short")
    assert short[0] == 1 and "8 to 1024 characters" in short[2]
    listed = _run(monkeypatch, capsys, "users", "list", *data)[1].splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["ada", "admin"], ["bo", "user"]]

    status, out, _ = _run(monkeypatch, capsys, "tokens", "create", "bo", "--name", "ci", *data)
    token_id, secret = out.split()[1], out.splitlines()[-1]
    assert status == 0 and secret.startswith("ffedit_")
    assert _token_user(tmp_path, secret) == "bo"
    tokens = _run(monkeypatch, capsys, "tokens", "list", "bo", *data)[1]
    assert tokens.startswith(f"{token_id}\tci\t") and secret not in tokens
    assert "last used 20" in tokens  # the check above used it
    assert _run(monkeypatch, capsys, "tokens", "revoke", "ada", token_id, *data)[0] == 1
    assert _run(monkeypatch, capsys, "tokens", "revoke", "bo", token_id, *data)[0] == 0
    assert _token_user(tmp_path, secret) is None

    again = _run(monkeypatch, capsys, "tokens", "create", "bo", *data)[1].splitlines()[-1]
    deleted = _run(monkeypatch, capsys, "users", "delete", "bo", *data)
    assert deleted[0] == 0 and "no longer work" in deleted[1]
    assert _token_user(tmp_path, again) is None
    assert _run(monkeypatch, capsys, "users", "delete", "bo", *data)[0] == 1


def test_serve_in_multi_user_mode_needs_an_admin_first(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FFEDIT_USERS", "on")
    monkeypatch.setenv("FFEDIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FFEDIT_MODEL", str(tiny_model))
    status, _, err = _run(monkeypatch, capsys, "serve")
    assert status == 2
    assert "has no admin account yet" in err and "`ffedit users create NAME --admin`" in err
