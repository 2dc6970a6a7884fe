"""The ``qdoem`` command line.

Each subcommand lives in its own module of this package and exposes ``HELP`` (one line) and
``register(subparsers)``, which adds its full parser and sets ``func`` (called with the parsed
namespace, returning an exit code). Only the command being run gets its full parser (which may
import torch, e.g. for the model registry); the others are listed by ``HELP``, so
``qdoem --help`` stays instant.

User errors (:class:`qdoem.QdoemError`, ``ValueError``, ``OSError`` such as a missing file, a
missing optional package) are printed on one line, without a traceback, and exit with status 2;
``--debug`` (before or after the command) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from qdoem._version import __version__
from qdoem.errors import QdoemError

#: Environment variables whose values are secrets (IBM Quantum credentials): never printed.
SECRET_VARIABLES = ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_URL")

#: Errors that are the user's to fix: one line, exit status 2 (a traceback with ``--debug``).
USER_ERRORS = (QdoemError, ValueError, OSError, NotImplementedError, ImportError)

# Order here is the order shown in ``qdoem --help``.
_COMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "train",
    "sample",
    "evaluate",
    "compare",
    "backends",
    "submit",
)


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
    debug = {"action": "store_true", "help": "show the traceback of an error"}
    parser.add_argument("--debug", **debug)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"qdoem.cli.{name}")
        if command in (None, name):
            module.register(subparsers)
            # after the command too; SUPPRESS keeps a --debug given before it
            subparsers.choices[name].add_argument("--debug", default=argparse.SUPPRESS, **debug)
        else:
            subparsers.add_parser(name, help=module.HELP)
    return parser


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: torch's CPU threads for the command (``torch.set_num_threads``)."""
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        metavar="N",
        help="CPU threads for torch (default: the CPUs this process may use, after its CPU "
        "affinity and any container CPU quota). On a shared or busy machine use 1 or 2: "
        "oversubscribed threads can make an epoch many times slower",
    )


def usable_cpus(cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """CPUs this process may actually use: its CPU affinity, capped by a cgroup v2 CPU quota.

    torch's default is one thread per core of the host, which in a container limited to a
    share of the host (``cpu.max``) oversubscribes the share.
    """
    import math
    import os

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        with open(cpu_max) as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def one_line(err: BaseException | Warning | str) -> str:
    """``err``'s message on one line (its lines joined by '; '), secrets redacted."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return redact("; ".join(lines)) or type(err).__name__


def redact(text: str) -> str:
    """``text`` with the value of every :data:`SECRET_VARIABLES` variable replaced."""
    import os

    for name in SECRET_VARIABLES:
        value = os.environ.get(name, "")
        if len(value) >= 4:
            text = text.replace(value, f"<{name}>")
    return text


def _warning_line(message, category, filename, lineno, line=None) -> str:
    return f"qdoem: warning: {one_line(message)}\n"


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in _COMMAND_MODULES else "")
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if hasattr(args, "threads"):
        import torch

        threads = args.threads or min(torch.get_num_threads(), usable_cpus())
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
    formatwarning = warnings.formatwarning
    if not args.debug:
        warnings.formatwarning = _warning_line
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as err:
        if args.debug:
            raise
        print(f"qdoem {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 2
    finally:
        warnings.formatwarning = formatwarning


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
