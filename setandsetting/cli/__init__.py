"""The `setandsetting` console script. Thin: each command module parses and delegates.

COMMANDS maps each command name to the module that registers it (`register(subparsers)`
adds its sub-commands and sets `func(args) -> int`). Only the module of the command being
run is imported, so a quick command never pays for the heavy ones: `validate`, `status` and
the controls load no more than pydantic and ruamel.yaml (to read the profile or room.yaml),
never numpy, rich, libVLC or the server (tests/cli/test_startup.py holds them to it).

Every user error takes one road, `main`'s: a CommandError, a broken file (FormatError), the
room's or the journal's own error is its message on stderr and exit 2, never a traceback.
A command's parser may set `error_prefix` to begin its messages with, and `dashed_value`
when its optional `value` may begin with a dash (`level -6dB`): argparse takes such a word
for an unknown option, and `main` gives it back as the value.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from setandsetting import __version__

COMMANDS: dict[str, str] = {
    "validate": "setandsetting.cli.formats",
    "schema": "setandsetting.cli.formats",
    "plan": "setandsetting.cli.plan",
    "rehearse": "setandsetting.cli.rehearse",
    "run": "setandsetting.cli.run",
    "log": "setandsetting.cli.log",
    "library": "setandsetting.cli.library",
    "midi": "setandsetting.cli.midi",
    "serve": "setandsetting.cli.serve",
    "status": "setandsetting.cli.control",
    "pause": "setandsetting.cli.control",
    "resume": "setandsetting.cli.control",
    "extend": "setandsetting.cli.control",
    "next": "setandsetting.cli.control",
    "skip": "setandsetting.cli.control",
    "level": "setandsetting.cli.control",
    "quiet": "setandsetting.cli.control",
    "ack": "setandsetting.cli.control",
    "note": "setandsetting.cli.control",
    "stop": "setandsetting.cli.control",
    "dose": "setandsetting.cli.control",
    "ready": "setandsetting.cli.control",
    "playlist": "setandsetting.cli.playlist",
    "test-sound": "setandsetting.cli.sound",
    "init": "setandsetting.cli.init",
    "doctor": "setandsetting.cli.doctor",
    "demo": "setandsetting.cli.demo",
    "clinic": "setandsetting.cli.clinic",
}


def _command_in(argv: list[str]) -> str | None:
    """The command word in argv (skipping `--room DIR`), if it is a known one."""
    words = iter(argv)
    for word in words:
        if word == "--room":
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="setandsetting",
        description="Sound and timing for ketamine-assisted psychotherapy sessions.",
    )
    parser.add_argument(
        "--room", type=Path, default=Path("."), help="the room folder (default: current folder)"
    )
    parser.add_argument("--version", action="version", version=f"setandsetting {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    command = _command_in(argv or [])
    modules = [COMMANDS[command]] if command else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Every user error takes one road: its message on stderr, exit 2."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    # A bad argument: argparse's usage and message, exit 2.
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "dashed_value", False) and args.value is None:
        args.value = extra.pop(0)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from setandsetting.cli.common import fail, user_error

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except Exception as err:
        message = user_error(err)
        if message is None:
            raise
        return fail(getattr(args, "error_prefix", "") + message)
