"""What every command needs: the room, a compiled session, and clear failures (exit 2)."""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path

from setandsetting.core.problems import FormatError
from setandsetting.core.types import check_patient_id
from setandsetting.room.errors import RoomError
from setandsetting.room.folder import Compiled, RoomFolder

EXIT_BAD_INPUT = 2


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit 2, never a traceback."""


def room_of(args: Namespace) -> RoomFolder:
    return RoomFolder(Path(args.room))


def profile_of(args: Namespace, name: str, option: str = "") -> Path:
    """The profile a command line names: a path, or a name in the room (one way for all)."""
    try:
        return room_of(args).profile_file(name)
    except RoomError as err:
        raise CommandError(f"{option}{err}") from None


def compiled(args: Namespace) -> Compiled:
    """Load the profile named on the command line for --patient, or raise CommandError."""
    try:
        check_patient_id(args.patient)
    except ValueError as err:
        raise CommandError(f"--patient: {err}") from None
    path = profile_of(args, args.profile)
    try:
        return room_of(args).compile(path, args.patient, seed=getattr(args, "seed", None))
    except FormatError as err:
        raise CommandError("\n".join(str(p) for p in err.problems)) from None


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_BAD_INPUT
