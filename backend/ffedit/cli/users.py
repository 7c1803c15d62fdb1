"""`ffedit users …` and `ffedit tokens …`: the accounts of a multi-user server
(`FFEDIT_USERS=on`), made, listed and deleted in its data folder (FFEDIT_DATA_DIR, or
--data-dir). They may run while the server runs: a deleted user or a revoked token is
refused from the server's next request on. A password is read from a prompt (asked twice) or,
when stdin is not a terminal, from its first line: never from the command line, which other
users of the machine can read.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


def register_users(subparsers: argparse._SubParsersAction) -> None:
    users = subparsers.add_parser(
        "users", help="accounts of a multi-user server (FFEDIT_USERS=on): create, list, delete"
    )
    commands = users.add_subparsers(dest="users_command", required=True)
    create = commands.add_parser(
        "create",
        help="add a user (the password is asked for, or read from stdin's first line)",
    )
    create.add_argument("name", help="1 to 64 letters, digits, '.', '_' or '-'")
    create.add_argument(
        "--admin",
        action="store_true",
        help="an admin; the first admin also owns the records made before accounts",
    )
    create.set_defaults(func=_create_user)
    listing = commands.add_parser("list", help="every user, oldest first")
    listing.set_defaults(func=_list_users)
    delete = commands.add_parser(
        "delete", help="delete a user: their sessions and tokens stop working at once"
    )
    delete.add_argument("name")
    delete.set_defaults(func=_delete_user)
    for parser in (create, listing, delete):
        _add_data_dir(parser)


def register_tokens(subparsers: argparse._SubParsersAction) -> None:
    tokens = subparsers.add_parser(
        "tokens", help="personal API tokens of a user of a multi-user server: create, list, revoke"
    )
    commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create = commands.add_parser("create", help="a new token (printed once, stored as a hash)")
    create.add_argument("user")
    create.add_argument("--name", default="cli", help="what the token is for (default: cli)")
    create.set_defaults(func=_create_token)
    listing = commands.add_parser("list", help="the user's tokens with their last use")
    listing.add_argument("user")
    listing.set_defaults(func=_list_tokens)
    revoke = commands.add_parser("revoke", help="revoke a token (by the id `list` shows)")
    revoke.add_argument("user")
    revoke.add_argument("token_id")
    revoke.set_defaults(func=_revoke_token)
    for parser in (create, listing, revoke):
        _add_data_dir(parser)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help="the server's data folder (default: FFEDIT_DATA_DIR, ./data)"
    )


def _with_accounts(args: argparse.Namespace, action: Callable) -> int:
    """Run `action(accounts)` on the data folder's accounts; a domain error is printed as
    one sentence (exit status 1)."""
    from ffedit.api.settings import Settings
    from ffedit.service.accounts import Accounts
    from ffedit.service.errors import Conflict, InvalidRequest, NotFound

    accounts = Accounts(args.data_dir or Settings().data_dir)
    try:
        return int(action(accounts) or 0)
    except (Conflict, InvalidRequest, NotFound) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        accounts.close()


def read_password(stdin=None) -> str:
    """The new password: asked twice on a terminal, else the first line of stdin."""
    stdin = stdin or sys.stdin
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise SystemExit("error: the two passwords differ")
    return password


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _create_user(args: argparse.Namespace) -> int:
    password = read_password()

    def create(accounts) -> None:
        user = accounts.create_user(args.name, password, admin=args.admin)
        role = "admin" if user.admin else "user"
        print(
            f"created {role} {user.name!r}; they log in on the page with this password "
            "(the server has accounts when FFEDIT_USERS=on)"
        )

    return _with_accounts(args, create)


def _list_users(args: argparse.Namespace) -> int:
    def show(accounts) -> None:
        for user in accounts.list_users():
            role = "admin" if user.admin else "user"
            print(f"{user.name}\t{role}\tcreated {_when(user.created_at)}")

    return _with_accounts(args, show)


def _delete_user(args: argparse.Namespace) -> int:
    def delete(accounts) -> None:
        accounts.delete_user(args.name)
        print(
            f"deleted {args.name!r}: their sessions and tokens no longer work; their faces, "
            "layouts and jobs go to the first admin at the server's next start"
        )

    return _with_accounts(args, delete)


def _create_token(args: argparse.Namespace) -> int:
    def create(accounts) -> None:
        made = accounts.create_token(accounts.user_named(args.user).id, args.name)
        print(f"token {made.record.id} ({made.record.name}) of {args.user!r}; shown only now:")
        print(made.secret)

    return _with_accounts(args, create)


def _list_tokens(args: argparse.Namespace) -> int:
    def show(accounts) -> None:
        for token in accounts.list_tokens(accounts.user_named(args.user).id):
            print(
                f"{token.id}\t{token.name}\tcreated {_when(token.created_at)}"
                f"\tlast used {_when(token.last_used_at)}"
            )

    return _with_accounts(args, show)


def _revoke_token(args: argparse.Namespace) -> int:
    def revoke(accounts) -> None:
        accounts.revoke_token(accounts.user_named(args.user).id, args.token_id)
        print(f"revoked token {args.token_id}: it is refused from now on")

    return _with_accounts(args, revoke)
