"""The `ffedit` command: one subcommand per capability, each registered by a small function.

Subcommands parse arguments, call the core, and turn `on_step` callbacks into tqdm progress
bars; they hold no model logic of their own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

Registrar = Callable[[argparse._SubParsersAction], None]


def build_parser(registrars: list[Registrar]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ffedit", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for register in registrars:
        register(subparsers)
    return parser


def _registrars() -> list[Registrar]:
    """Every subcommand's registrar; imports stay lazy so `ffedit --help` is fast."""
    return []


def main(argv: list[str] | None = None) -> int:
    args = build_parser(_registrars()).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
