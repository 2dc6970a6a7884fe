"""The ``qdoem`` command line.

Each subcommand lives in its own module of this package and exposes ``HELP`` (one line) and
``register(subparsers)``, which adds its full parser and sets ``func`` (called with the parsed
namespace, returning an exit code). Only the command being run gets its full parser (which may
import torch, e.g. for the model registry); the others are listed by ``HELP``, so
``qdoem --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from qdoem._version import __version__

# Order here is the order shown in ``qdoem --help``.
_COMMAND_MODULES: tuple[str, ...] = ("demo", "train", "sample", "evaluate", "backends")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``qdoem`` parser, with the full sub-parser of ``command`` (all of them if None)."""
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
        module = importlib.import_module(f"qdoem.cli.{name}")
        if command in (None, name):
            module.register(subparsers)
        else:
            subparsers.add_parser(name, help=module.HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in _COMMAND_MODULES else "")
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, NotImplementedError, ImportError) as err:
        # User errors (bad config, bad input, missing data, a missing optional package) get one
        # clear line, not a traceback.
        print(f"qdoem {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
