"""The `setandsetting` console script. Thin: each command module parses and delegates.

Each module in COMMAND_MODULES has `register(subparsers)`, which adds its sub-commands and
sets `func(args) -> int` on them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

COMMAND_MODULES: list[str] = [
    "setandsetting.cli.log",
    "setandsetting.cli.formats",
    "setandsetting.cli.library",
    "setandsetting.cli.midi",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="setandsetting",
        description="Sound and timing for ketamine-assisted psychotherapy sessions.",
    )
    parser.add_argument(
        "--room", type=Path, default=Path("."), help="the room folder (default: current folder)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
