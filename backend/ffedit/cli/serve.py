"""`ffedit serve`: the web app and its API; once the model is loaded it prints the link that
logs the page in (`ffedit.api.auth.startup_message`). In multi-user mode (FFEDIT_USERS=on) it
refuses to start, saying what to run, while the data folder has no admin account."""

from __future__ import annotations

import argparse
import sys

from ffedit.config import TRAIN_DEFAULT_MODEL


def register_serve(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the web app and its API (model, data dir etc. from FFEDIT_* variables)",
        description="Load the model once and serve the API under /api/v1 and the front end at "
        "/. Settings come from FFEDIT_* environment variables (FFEDIT_MODEL, default "
        "models/synthface-128; FFEDIT_DATA_DIR, default ./data; FFEDIT_DEVICE, ...). Every "
        "request but /api/v1/health needs the access token: a random one each start, printed "
        "with the link that logs the page in, or FFEDIT_TOKEN's. FFEDIT_USERS=on: accounts "
        "instead (`ffedit users create NAME --admin` makes the first).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--model", help="checkpoint folder or .pkl (overrides FFEDIT_MODEL)")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn
    from pydantic import ValidationError

    from ffedit.api.app import create_app
    from ffedit.api.auth import TokenRedactor, startup_message
    from ffedit.api.settings import Settings

    try:
        settings = Settings() if args.model is None else Settings(model=args.model)
    except ValidationError as error:
        print(f"error: the FFEDIT_* settings are not valid: {error}", file=sys.stderr)
        return 2
    if not settings.model.exists():
        print(
            f"error: the model {settings.model} does not exist. Train the default model with "
            f"`{TRAIN_DEFAULT_MODEL}`, or set FFEDIT_MODEL (or --model) to a checkpoint "
            "folder or an EG3D/NeRFFaceEditing .pkl",
            file=sys.stderr,
        )
        return 2
    if settings.users and not _has_an_admin(settings):
        return 2
    logging.getLogger("uvicorn.access").addFilter(TokenRedactor())  # kept by uvicorn's config
    message = startup_message(args.host, args.port, settings)
    app = create_app(settings, on_ready=lambda: print(message, file=sys.stderr, flush=True))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def _has_an_admin(settings) -> bool:
    """Whether the multi-user data folder has an admin; if not, says how to make one."""
    from ffedit.api.app import accounts_of_settings
    from ffedit.service.errors import NoAccounts

    accounts = accounts_of_settings(settings)
    try:
        accounts.first_admin()
    except NoAccounts as error:
        print(f"error: {error}", file=sys.stderr)
        return False
    finally:
        accounts.close()
    return True
