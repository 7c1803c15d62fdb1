"""The `ffedit` command: one subcommand per capability, each registered by a small function.

Subcommands parse arguments, call the core, and turn `on_step` callbacks into tqdm progress
bars; they hold no model logic of their own. One module per command family registers its
subcommands (checkpoint, render, synthface, train, edit, invert, mesh, serve, worker, users
and tokens); `ffedit bench …` is registered by the `ffedit.bench` package, one module per
benchmark; `common` holds what several commands share.
"""

from __future__ import annotations

import argparse
import sys

from ffedit.bench import register_bench
from ffedit.cli.allocator import tune_glibc_malloc
from ffedit.cli.checkpoint import register_import_checkpoint
from ffedit.cli.common import Registrar
from ffedit.cli.denormals import flush_denormals
from ffedit.cli.edit import register_edit
from ffedit.cli.invert import register_invert
from ffedit.cli.mesh import register_mesh
from ffedit.cli.render import register_render
from ffedit.cli.serve import register_serve
from ffedit.cli.synthface import register_synthface
from ffedit.cli.train import register_train_generator, register_train_layout
from ffedit.cli.users import register_tokens, register_users
from ffedit.cli.worker import register_worker

__all__ = ["main", "run"]


def build_parser(registrars: list[Registrar]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ffedit", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for register in registrars:
        register(subparsers)
    return parser


def _registrars() -> list[Registrar]:
    """Every subcommand's registrar; imports stay lazy so `ffedit --help` is fast."""
    return [
        register_import_checkpoint,
        register_render,
        register_bench,
        register_synthface,
        register_train_generator,
        register_train_layout,
        register_edit,
        register_invert,
        register_mesh,
        register_serve,
        register_worker,
        register_users,
        register_tokens,
    ]


def _dispatch(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the subcommand (in-process callers, tests among them,
    keep their process-wide settings: see `run`)."""
    return _dispatch(build_parser(_registrars()).parse_args(argv))


def run(argv: list[str] | None = None) -> int:
    """The `ffedit` command's entry point: `main` with the process-wide CPU settings (glibc's
    malloc, denormals flushed) made once the arguments are parsed (`--help` needs no torch)
    and before the subcommand starts torch's thread pool, whose threads inherit them."""
    args = build_parser(_registrars()).parse_args(argv)
    tune_glibc_malloc()
    flush_denormals()
    return _dispatch(args)
