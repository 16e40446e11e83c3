"""`setandsetting rehearse PROFILE --patient ID`: the whole session on a simulated clock."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from setandsetting.cli.common import (
    CommandError,
    add_facts_options,
    compiled,
    facts_of,
    room_of,
    warn_unknown_patient,
)
from setandsetting.core.controls import Control, parse_timed_control
from setandsetting.core.events import Event, describe
from setandsetting.core.plan import OPEN_HORIZON_S, build_plan
from setandsetting.core.status import status_line
from setandsetting.core.units import format_clock, parse_duration
from setandsetting.engine.rehearsal import rehearse
from setandsetting.journal.store import Journal
from setandsetting.room.folder import Compiled


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rehearse", help="run a whole session on a simulated clock")
    p.add_argument("profile", help="a profile: its name (demo) or file")
    p.add_argument("--patient", required=True, help="pseudonymous patient ID")
    p.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="N x real time with a live status line (default 0: instant)",
    )
    p.add_argument(
        "--control",
        action="append",
        default=[],
        metavar="T:ACTION",
        help="apply a control at session time T, e.g. 20m:extend 10m (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="events as JSON lines")
    p.add_argument(
        "--open-for",
        default=None,
        metavar="DUR",
        help=(
            f"how long an open last phase runs at least (default {int(OPEN_HORIZON_S // 60)}m; "
            "longer to reach its floor and last check-in)"
        ),
    )
    p.add_argument("--seed", type=int, default=None, help="shuffle seed (default: stable)")
    p.add_argument(
        "--journal",
        action="store_true",
        help="write the rehearsal to the room's journal as a session (for review and training)",
    )
    p.add_argument(
        "--start",
        default=None,
        metavar="WHEN",
        help="wall time the journaled session starts, ISO 8601 (default: now, UTC)",
    )
    add_facts_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.speed < 0:
        raise CommandError("--speed: must be 0 (instant) or a positive factor")
    try:
        controls = [parse_timed_control(text) for text in args.control]
        open_for = parse_duration(args.open_for) if args.open_for else OPEN_HORIZON_S
    except ValueError as err:
        raise CommandError(f"--control: {err}") from None
    started = _start_of(args.start)
    facts = facts_of(args)
    if facts:  # journaled as a live start journals them: the first control
        controls.insert(0, (0.0, Control("facts", data=facts.to_fields())))
    session = compiled(args)
    warn_unknown_patient(args, args.patient)
    timeline = session.timeline
    live = args.speed > 0 and sys.stderr.isatty()

    def on_event(event: Event) -> None:
        if live:
            sys.stderr.write("\r\033[K")
        if args.json:
            print(json.dumps(event.to_dict(started)), flush=True)
        else:
            print(f"{format_clock(event.t):>9}  {describe(event.to_dict())}", flush=True)

    def on_status(snap: dict) -> None:
        if live:
            sys.stderr.write("\r\033[K" + status_line(snap)[:150])
            sys.stderr.flush()

    result = rehearse(
        timeline,
        controls,
        speed=args.speed,
        open_for=open_for,
        on_event=on_event,
        on_status=on_status,
    )
    if live:
        sys.stderr.write("\r\033[K")
    if args.journal:
        session_id = _journal(args, session, started, result.events)
        print(f"journaled as session {session_id}", flush=True)
    return 0


def _start_of(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--start: {text!r} is not an ISO 8601 time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _journal(
    args: argparse.Namespace, session: Compiled, started: datetime, events: list[Event]
) -> str:
    """The rehearsal as one journaled session: its plan, then every event at its wall time.

    Written in one transaction after the run, so a refused journal leaves no half session
    behind beyond its (empty) begin record."""
    with Journal.open(room_of(args).journal_path) as journal:
        session_id = journal.begin_session(
            patient=args.patient,
            profile_path=session.profile_path,
            profile_name=session.profile.name,
            started_wall=started,
            plan=build_plan(session.timeline),
        )
        journal.append_many((session_id, e.to_dict(started)) for e in events)
    return session_id
