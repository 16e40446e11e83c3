"""`setandsetting run PROFILE --patient ID`: a real session in the foreground.

It holds the room's lock as `serve` does (one daemon per room: a second `run` or `serve`
is refused). Ctrl-C asks first: the first press says how to end the session, a second one
within CONFIRM_S ends it (the music fades out, `session_ended` is journaled); a stray press
costs nothing. SIGTERM (systemd, a reboot) stops the program, not the session, as `serve`
does: the music fades out, `daemon_stopped` is journaled, and the next start resumes it.
An interrupted session younger than the room's resume window is resumed instead.
"""

from __future__ import annotations

import argparse
import queue
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from setandsetting.cli.common import (
    add_facts_options,
    facts_of,
    patient_of,
    print_line,
    profile_of,
    room_of,
)
from setandsetting.core.events import describe
from setandsetting.core.status import status_line
from setandsetting.core.units import format_clock
from setandsetting.room.lock import RoomLock

if TYPE_CHECKING:
    from setandsetting.core.dose import SessionFacts
    from setandsetting.room.folder import RoomFolder

STATUS_S = 0.5
CONFIRM_S = 5.0  # a second Ctrl-C within this long ends the session
ASK = f"end the session? press Ctrl-C again within {CONFIRM_S:g} s"
GOES_ON = "the session goes on"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a real session in the foreground")
    p.add_argument("profile", help="a profile: its name (im-ketamine) or file")
    p.add_argument("--patient", required=True, help="pseudonymous patient ID")
    add_facts_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    patient = patient_of(args)
    profile = profile_of(args, args.profile)
    folder = room_of(args)
    facts = facts_of(args)
    with RoomLock.take(folder.root, "run"):  # before the journal or any device
        _run_session(folder, profile, patient, facts)
    return 0


def _run_session(folder: RoomFolder, profile: Path, patient: str, facts: SessionFacts) -> None:
    from setandsetting.engine.runner import SessionRunner

    runner = SessionRunner(folder)
    live = sys.stderr.isatty()
    signals: queue.SimpleQueue[tuple[int, float]] = queue.SimpleQueue()

    def note_signal(sig: int, _frame: FrameType | None) -> None:
        signals.put((sig, time.monotonic()))

    def show(event: dict) -> None:
        if live:
            sys.stderr.write("\r\033[K")
        if event["type"] != "control":
            print_line(f"{format_clock(event['t']):>9}  {describe(event)}")

    signal.signal(signal.SIGINT, note_signal)
    signal.signal(signal.SIGTERM, note_signal)
    try:
        runner.subscribe(show)
        resumed = runner.start_or_resume(lambda: profile, patient, facts)
        if resumed is not None:
            print_line(resumed)
        else:
            unknown = folder.unknown_patient(patient)  # said once it started: not a refusal
            if unknown is not None:
                print(f"warning: {unknown}", file=sys.stderr, flush=True)
        engine = runner.engine
        assert engine is not None
        asked: float | None = None  # when the first Ctrl-C was pressed
        while engine.running:
            try:
                sig, at = signals.get(timeout=STATUS_S)
            except queue.Empty:
                sig, at = None, time.monotonic()
            if sig == signal.SIGTERM:
                break  # the program stops, the session stays open: runner.close() below
            if sig == signal.SIGINT and asked is not None and at - asked <= CONFIRM_S:
                _say("stopping: the session ends, the music fades out…", live)
                engine.stop()
                break
            if sig == signal.SIGINT:
                asked = at
                _say(ASK, live)
            elif asked is not None and at - asked > CONFIRM_S:
                asked = None
                _say(GOES_ON, live)
            if live and (status := engine.snapshot()):
                sys.stderr.write("\r\033[K" + status_line(status)[:150])
                sys.stderr.flush()
    finally:
        if runner.session_open:
            _say(
                "stopping: the music fades out; the session resumes with the next "
                "`setandsetting run` or `serve`",
                live,
            )
        runner.close()
        if live:
            sys.stderr.write("\r\033[K")


def _say(line: str, live: bool) -> None:
    """A line for the person at the terminal, on its own line under the status line."""
    print(("\r\033[K" if live else "") + line, file=sys.stderr, flush=True)
