"""What every command needs: the room, a compiled session, and the one road a user's error takes.

Light on purpose: `main` and the quick commands (`status`, the controls) import this, so the
room folder (and through it the timeline and the chime synthesiser's numpy) is imported
only by the functions that compile a session.
"""

from __future__ import annotations

import sys
import threading
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from setandsetting.core.dose import SessionFacts
    from setandsetting.room.folder import Compiled, RoomFolder

EXIT_BAD_INPUT = 2

# A user's error as the module that raises it names it: printed as its message, exit 2.
# Looked up among the modules already imported, so catching them imports nothing: an
# error class whose module never loaded cannot have been raised.
USER_ERRORS = (
    ("setandsetting.core.problems", "FormatError"),  # FILE:LINE:COL: path: message lines
    ("setandsetting.room.errors", "RoomError"),
    ("setandsetting.journal.store", "JournalError"),
)


_LINES = threading.Lock()


def print_line(line: object) -> None:
    """One whole line to stdout. print() writes the text and its newline apart, so a line
    from the engine's thread could land inside one from the main thread (seen: a NO SOUND
    line ran into "resumed session …")."""
    with _LINES:
        sys.stdout.write(f"{line}\n")
        sys.stdout.flush()


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit 2, never a traceback."""


def user_error(err: BaseException) -> str | None:
    """What a user's error prints, or None when `err` is a bug (which keeps its traceback)."""
    if isinstance(err, CommandError):
        return str(err)
    for module, name in USER_ERRORS:
        kind = getattr(sys.modules.get(module), name, None)
        if kind is not None and isinstance(err, kind):
            return str(err)
    return None


def room_of(args: Namespace) -> RoomFolder:
    from setandsetting.room.folder import RoomFolder

    return RoomFolder(Path(args.room))


def patient_of(args: Namespace) -> str:
    """--patient, checked: the one pattern a pseudonymous patient ID must match."""
    from setandsetting.core.types import check_patient_id

    try:
        return check_patient_id(args.patient)
    except ValueError as err:
        raise CommandError(f"--patient: {err}") from None


def warn_unknown_patient(args: Namespace, patient: str) -> None:
    """A patient ID with no folder is said, not refused: a typo, or a new patient."""
    import sys

    warning = room_of(args).unknown_patient(patient)
    if warning is not None:
        print(f"warning: {warning}", file=sys.stderr, flush=True)


def profile_of(args: Namespace, name: str, option: str = "") -> Path:
    """The profile a command line names: a path, or a name in the room (one way for all)."""
    from setandsetting.room.errors import RoomError

    try:
        return room_of(args).profile_file(name)
    except RoomError as err:
        raise CommandError(f"{option}{err}") from None


def compiled(args: Namespace) -> Compiled:
    """The profile named on the command line, compiled for --patient (FormatError if broken)."""
    patient = patient_of(args)
    path = profile_of(args, args.profile)
    return room_of(args).compile(path, patient, seed=getattr(args, "seed", None))


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_BAD_INPUT


def add_facts_options(p: ArgumentParser) -> None:
    """The session facts a profile's route may ask for at the start (core/dose.py)."""
    p.add_argument(
        "--meds",
        metavar="CLASSES",
        help="concomitant medications: none, or the classes taken, comma separated "
        "(benzodiazepines, non-benzodiazepine sedative-hypnotics, psychostimulants, maois, "
        "opioids)",
    )
    p.add_argument("--first", metavar="yes|no", help="is this the patient's first treatment?")
    p.add_argument("--intention", metavar="TEXT", help="the intention the patient set")


def facts_of(args: Namespace) -> SessionFacts:
    """--meds, --first and --intention, checked (CommandError with the reason)."""
    from setandsetting.core.dose import SessionFacts, facts_from_fields, parse_meds, parse_yes_no

    try:
        meds = parse_meds(args.meds) if args.meds is not None else {}
        first = parse_yes_no(args.first, "--first") if args.first is not None else None
        intention = facts_from_fields({"intention": args.intention}).intention
    except ValueError as err:
        raise CommandError(str(err)) from None
    return SessionFacts(meds, first, intention)
