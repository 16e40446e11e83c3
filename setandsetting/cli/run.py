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

from setandsetting.cli.common import patient_of, profile_of, room_of
from setandsetting.core.events import describe
from setandsetting.core.status import status_line
from setandsetting.core.units import format_clock

STATUS_S = 0.5


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a real session in the foreground")
    p.add_argument("profile", help="a profile: its name (im-ketamine) or file")
    p.add_argument("--patient", required=True, help="pseudonymous patient ID")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from setandsetting.engine.runner import SessionRunner

    patient = patient_of(args)
    profile = profile_of(args, args.profile)
    runner = SessionRunner(room_of(args))
    live = sys.stderr.isatty()

    def show(event: dict) -> None:
        if live:
            sys.stderr.write("\r\033[K")
        if event["type"] != "control":
            print(f"{format_clock(event['t']):>9}  {describe(event)}", flush=True)

    runner.subscribe(show)
    resumed = runner.start_or_resume(lambda: profile, patient)
    if resumed is not None:
        print(resumed, flush=True)
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
