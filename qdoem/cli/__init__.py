"""The ``qdoem`` command line.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called with the
parsed namespace, returning an exit code). Heavy imports stay inside ``func`` so that
``qdoem --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from qdoem._version import __version__

# Order here is the order shown in ``qdoem --help``.
_COMMAND_MODULES: tuple[str, ...] = ("demo", "train", "sample", "evaluate", "backends")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qdoem",
        description=(
            "Train quantum latent variable models with Density Operator "
            "Expectation Maximization (DO-EM)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"qdoem {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"qdoem.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as err:
        # User errors (bad config, bad input, missing data) get one clear line, not a traceback.
        print(f"qdoem {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
