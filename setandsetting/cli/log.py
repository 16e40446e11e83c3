"""`setandsetting log list|show|export|stats|backup|verify`: journaled sessions, and their
safe keeping.

Reading never creates a journal: with no `sessions.db` there is simply nothing to list.
`backup DEST` copies the journal consistently while a session writes (SQLite's online
backup, journal/backup.py) and checks the copy; `verify FILE` checks a copy: exit 1 when
it is not sound.
A bad journal or an unknown session (JournalError) is exit 2 with one clear line, never a
traceback, through the CLI's one error road.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from setandsetting.cli.common import CommandError
from setandsetting.core.units import format_clock
from setandsetting.journal.backup import Verified, backup, verify
from setandsetting.journal.export import FORMATS, export
from setandsetting.journal.review import build_review, render_text, text_table
from setandsetting.journal.stats import compute_stats, render_stats
from setandsetting.journal.store import Journal, SessionSummary, UnknownSession
from setandsetting.room.folder import JOURNAL_NAME

T = TypeVar("T")
EXIT_NOT_SOUND = 1


def journal_path(room: Path) -> Path:
    return Path(room) / JOURNAL_NAME


def register(subparsers: argparse._SubParsersAction) -> None:
    log = subparsers.add_parser("log", help="review journaled sessions")
    log.set_defaults(error_prefix="setandsetting log: ")
    sub = log.add_subparsers(dest="log_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="journaled sessions, newest first")
    p.add_argument("--patient", help="only this patient's sessions")
    p.add_argument("--limit", type=int, help="only the last N sessions")
    p.add_argument("--json", action="store_true", help="as JSON: id, patient, profile, times")
    p.set_defaults(func=_list)

    p = sub.add_parser("patient", help="a patient's course across sessions")
    p.add_argument("patient_id", metavar="ID", help="a pseudonymous patient ID")
    p.set_defaults(func=_patient)

    p = sub.add_parser("show", help="one session: planned vs actual, tracks, check-ins, notes")
    p.add_argument("session", help="a session id from `log list`")
    p.set_defaults(func=_show)

    p = sub.add_parser(
        "export", help="one session as CSV, JSON, printable HTML, the REMS form or FHIR"
    )
    p.add_argument("session", help="a session id from `log list`")
    p.add_argument("--format", choices=tuple(FORMATS), required=True)
    p.add_argument("--output", type=Path, help="write to FILE instead of standard output")
    p.set_defaults(func=_export)

    p = sub.add_parser("stats", help="across sessions: acknowledgement latency, extensions")
    p.add_argument("--patient", help="only this patient's sessions")
    p.set_defaults(func=_stats)

    p = sub.add_parser("backup", help="a consistent copy of the journal, also during a session")
    p.add_argument("dest", type=Path, help="a new file, or a folder (a dated file in it)")
    p.set_defaults(func=_backup)

    p = sub.add_parser("verify", help="check a backup: integrity, every session readable")
    p.add_argument("file", type=Path, help="a copy of the journal")
    p.set_defaults(func=_verify)


def _query(args: argparse.Namespace, read: Callable[[Journal], T]) -> T | None:
    """`read` on the room's journal, or None when there is no journal yet."""
    path = journal_path(args.room)
    if not path.exists() and not path.is_symlink():
        return None
    with Journal.open(path, create=False) as journal:
        return read(journal)


def _list(args: argparse.Namespace) -> int:
    sessions = _query(args, lambda j: j.sessions(patient=args.patient, limit=args.limit))
    if args.json:
        print(json.dumps([session_entry(s) for s in sessions or []], indent=2))
        return 0
    if sessions is None:
        print(f"no sessions journaled in {args.room}")
        return 0
    if not sessions:
        print("no sessions")
        return 0
    rows = [["session", "patient", "started (UTC)", "ended", "profile"]]
    for s in sessions:
        ended = s.end_reason or "not ended"
        if s.ended_wall is not None:
            ended += f" after {format_clock((s.ended_wall - s.started_wall).total_seconds())}"
        rows.append([s.id, s.patient, f"{s.started_wall:%Y-%m-%d %H:%M}", ended, s.profile_name])
    print("\n".join(text_table(rows)))
    return 0


def _load(args: argparse.Namespace) -> tuple[SessionSummary, list[dict[str, Any]]]:
    found = _query(args, lambda j: (j.session(args.session), j.events(args.session)))
    if found is None:
        raise UnknownSession(f"no session {args.session!r}: no journal in {args.room} yet")
    return found


def _show(args: argparse.Namespace) -> int:
    session, events = _load(args)
    sys.stdout.write(render_text(build_review(session, events)))
    return 0


def _export(args: argparse.Namespace) -> int:
    session, events = _load(args)
    text = export(args.format, session, events)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        # Patient data: the export is as private as the journal.
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise CommandError(f"{args.output}: cannot write ({exc.strerror})") from None
    print(f"wrote {args.output}")
    return 0


def session_entry(s: SessionSummary) -> dict[str, Any]:
    """One session for `log list --json`."""
    return {
        "id": s.id,
        "patient": s.patient,
        "profile": s.profile_name,
        "started": s.started_wall.isoformat(),
        "ended": s.ended_wall.isoformat() if s.ended_wall else None,
        "reason": s.end_reason,
    }


def _patient(args: argparse.Namespace) -> int:
    from setandsetting.core.types import check_patient_id
    from setandsetting.journal.course import course, render_course

    try:
        patient = check_patient_id(args.patient_id)
    except ValueError as err:
        raise CommandError(str(err)) from None
    found = _query(args, lambda j: course(j, patient))
    if not found:
        print(f"no sessions journaled for {patient}")
        return 0
    sys.stdout.write(render_course(patient, found))
    return 0


def _stats(args: argparse.Namespace) -> int:
    stats = _query(args, lambda j: compute_stats(j, patient=args.patient))
    if stats is None:
        print(f"no sessions journaled in {args.room}")
        return 0
    sys.stdout.write(render_stats(stats))
    return 0


def _counts(verified: Verified) -> str:
    total = sum(verified.events.values())
    return f"{verified.sessions} session{'' if verified.sessions == 1 else 's'}, {total} events"


def _backup(args: argparse.Namespace) -> int:
    source = journal_path(args.room)
    if not source.exists():
        raise CommandError(f"no journal in {args.room} yet: nothing to back up")
    copy = backup(source, args.dest, datetime.now(UTC))
    print(f"backed up {source} to {copy.path} ({_counts(copy)}; verified)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    verified = verify(args.file)
    if not verified.ok:
        for problem in verified.problems:
            print(f"{args.file}: NOT SOUND — {problem}")
        return EXIT_NOT_SOUND
    print(f"{args.file}: sound — integrity ok, {_counts(verified)}, every session readable")
    rows = [[kind, str(n)] for kind, n in sorted(verified.events.items())]
    if rows:
        print("\n".join(text_table(rows, indent="  ")))
    return 0
