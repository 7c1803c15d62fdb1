"""`ffedit worker`: a Celery worker holding the model on one device, serving the renders and
jobs of a web process started with the same FFEDIT_BROKER_URL and FFEDIT_DATA_DIR
(`ffedit.service.worker`). Start one per GPU (`--device cuda:0`, `--device cuda:1`, ...)."""

from __future__ import annotations

import argparse
import sys

from ffedit.config import TRAIN_DEFAULT_MODEL


def register_worker(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="serve the renders and jobs of `ffedit serve` with FFEDIT_BROKER_URL set",
        description="Load the model once on --device and serve the broker's queues (Celery "
        "on Redis). Settings come from the same FFEDIT_* variables as `ffedit serve` "
        "(FFEDIT_BROKER_URL, FFEDIT_DATA_DIR: the web process's folder, FFEDIT_MODEL, ...).",
    )
    parser.add_argument(
        "--queues", default="render,jobs", help="queues to serve (default render,jobs)"
    )
    parser.add_argument("--device", help="cpu or cuda:N (overrides FFEDIT_DEVICE)")
    parser.add_argument("--name", help="the worker's name (default host-device-pid)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="threads taking tasks (one job at a time; renders between its steps; default 4)",
    )
    parser.set_defaults(func=_work)


def _work(args: argparse.Namespace) -> int:
    import logging

    from pydantic import ValidationError

    from ffedit.api.app import engine_config
    from ffedit.api.settings import Settings
    from ffedit.service.broker import QUEUES
    from ffedit.service.worker import default_worker_name, serve_worker

    try:
        settings = Settings() if args.device is None else Settings(device=args.device)
    except ValidationError as error:
        print(f"error: the FFEDIT_* settings are not valid: {error}", file=sys.stderr)
        return 2
    if settings.broker_url is None:
        print("error: set FFEDIT_BROKER_URL (redis://host:port/0) to run a worker", file=sys.stderr)
        return 2
    if not settings.model.exists():
        print(
            f"error: the model {settings.model} does not exist; train it with "
            f"`{TRAIN_DEFAULT_MODEL}` or set FFEDIT_MODEL",
            file=sys.stderr,
        )
        return 2
    queues = [queue.strip() for queue in args.queues.split(",") if queue.strip()]
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown or not queues:
        print(f"error: --queues takes {', '.join(QUEUES)}; got {args.queues!r}", file=sys.stderr)
        return 2
    if args.concurrency < 1:
        print("error: --concurrency must be at least 1", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    name = args.name or default_worker_name(settings.device)
    serve_worker(engine_config(settings), queues, name, args.concurrency)
    return 0
