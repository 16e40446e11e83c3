"""`setandsetting run PROFILE --patient ID`: a real session in the foreground.

Ctrl-C (or SIGTERM) ends it gently: the music fades out and `session_ended` is journaled.
An interrupted session younger than the room's resume window is resumed instead.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from setandsetting.cli.common import CommandError, profile_of, room_of
from setandsetting.core.events import describe
from setandsetting.core.problems import FormatError
from setandsetting.core.status import status_line
from setandsetting.core.types import check_patient_id
from setandsetting.core.units import format_clock, format_duration

STATUS_S = 0.5


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a real session in the foreground")
    p.add_argument("profile", help="a profile: its name (im-ketamine) or file")
    p.add_argument("--patient", required=True, help="pseudonymous patient ID")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from setandsetting.engine.runner import SessionRunner
    from setandsetting.journal.store import JournalError

    try:
        check_patient_id(args.patient)
    except ValueError as err:
        raise CommandError(f"--patient: {err}") from None
    profile = profile_of(args, args.profile)
    runner = SessionRunner(room_of(args))
    live = sys.stderr.isatty()

    def show(event: dict) -> None:
        if live:
            sys.stderr.write("\r\033[K")
        if event["type"] != "control":
            print(f"{format_clock(event['t']):>9}  {describe(event)}", flush=True)

    runner.subscribe(show)
    try:
        resumed = runner.resume_interrupted()
        if resumed is not None:
            print(
                f"resumed session {resumed.session_id} after {format_duration(resumed.gap_s)}",
                flush=True,
            )
        else:
            runner.start(profile, args.patient)
    except FormatError as err:
        raise CommandError("\n".join(str(p) for p in err.problems)) from None
    except JournalError as err:
        raise CommandError(str(err)) from None
    engine = runner.engine
    assert engine is not None
    stopping = threading.Event()

    def gentle_stop(_sig: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, gentle_stop)
    signal.signal(signal.SIGTERM, gentle_stop)
    try:
        while engine.running:
            if stopping.wait(STATUS_S):
                print("\nstopping: the music fades out…", file=sys.stderr, flush=True)
                engine.stop()
                break
            if live and (status := engine.snapshot()):
                sys.stderr.write("\r\033[K" + status_line(status)[:150])
                sys.stderr.flush()
    finally:
        runner.close()
        if live:
            sys.stderr.write("\r\033[K")
    return 0
