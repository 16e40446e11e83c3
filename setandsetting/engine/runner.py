"""The room's session manager: start a session, resume an interrupted one, hold the engine.

Shared by `run` (foreground) and `serve` (the daemon), so both journal every session and
both resume by themselves after a crash — or after being stopped: closing the runner stops
the program, never the session (only `stop` or its last phase ending does that).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from setandsetting.backends.base import Report
from setandsetting.core.controls import Control
from setandsetting.core.dose import SessionFacts, facts_missing
from setandsetting.core.events import Event
from setandsetting.core.plan import build_plan
from setandsetting.core.room import Room
from setandsetting.core.units import format_duration
from setandsetting.engine.conductor import Devices
from setandsetting.engine.engine import Engine
from setandsetting.engine.resume import replay
from setandsetting.journal.store import Journal
from setandsetting.journal.writer import JournalWriter, SessionWriter
from setandsetting.room.errors import EditError
from setandsetting.room.folder import Compiled, RoomFolder

DevicesFactory = Callable[[Room, Report, Path], Devices]


class SessionBusy(RuntimeError):
    """A session is already running in this room."""


@dataclass
class Resumed:
    session_id: str
    gap_s: float

    def __str__(self) -> str:
        return f"resumed session {self.session_id} after {format_duration(self.gap_s)}"


# _resume's outcome for a session whose clock ran out while the program was down: its
# `session_ended` is journaled with the gap's events, so there is nothing left to close.
ENDED_IN_GAP = "ended in the gap"


def default_devices(room: Room, report: Report, sounds_dir: Path) -> Devices:
    from setandsetting.engine.devices import real_devices

    return real_devices(room, report, sounds_dir)


class SessionRunner:
    """At most one live session per room; every session journaled."""

    def __init__(
        self,
        folder: RoomFolder,
        *,
        devices: DevicesFactory = default_devices,
        journal: Journal | None = None,
        midi_input: bool = True,
        prepare: Callable[[str], None] | None = None,
    ) -> None:
        """`prepare(patient)` runs before a new session is compiled (the clinic link
        brings the patient's folder up to date there); it must not raise."""
        self.folder = folder
        self._prepare = prepare
        self._devices = devices
        self._journal = journal
        self._writer: JournalWriter | None = None
        self._midi_input = midi_input
        self._lock = threading.Lock()
        self.engine: Engine | None = None
        self.session_id: str | None = None
        self.compiled: Compiled | None = None
        self._subscribers: list[Callable[[dict[str, Any]], None]] = []

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Receive the events of every session this runner starts, from its first one."""
        self._subscribers.append(callback)
        if self.engine is not None:
            self.engine.subscribe(callback)

    # ------------------------------------------------------------------ journal

    @property
    def journal(self) -> Journal:
        """Opened on first use; a bad journal raises JournalError naming the file."""
        if self._journal is None:
            self._journal = Journal.open(self.folder.journal_path, busy_timeout_s=0.5)
        return self._journal

    def _sink(self, session_id: str) -> SessionWriter:
        if self._writer is None:
            self._writer = JournalWriter(self.journal)
        return self._writer.session(session_id)

    # ------------------------------------------------------------------ sessions

    @property
    def running(self) -> bool:
        return self.engine is not None and self.engine.running

    @property
    def session_open(self) -> bool:
        """A session runs and has not ended: what closing the runner leaves to resume."""
        return self.engine is not None and self.engine.running and self.engine.conductor.open

    def start(self, profile_path: Path, patient: str, facts: SessionFacts | None = None) -> Engine:
        """Compile, journal the plan, start the engine, then journal the session facts.

        Raises FormatError (a broken file), SessionBusy, EditError (a bad patient ID, or
        facts missing that the profile's route asks for: before anything is journaled).
        """
        facts = facts or SessionFacts()
        with self._lock:
            if self.running:
                raise SessionBusy("a session is already running in this room")
            if self._prepare is not None:
                self._prepare(patient)
            compiled = self.folder.compile(profile_path, patient)
            missing = facts_missing(compiled.profile.route, facts)
            if missing:
                raise EditError(missing)
            started = datetime.now(UTC)
            session_id = self.journal.begin_session(
                patient=patient,
                profile_path=str(profile_path),
                profile_name=compiled.profile.name,
                started_wall=started,
                plan=build_plan(compiled.timeline),
            )
            engine = self._launch(compiled, session_id, started, restore=None)
            if facts:
                engine.submit(Control("facts", data=facts.to_fields()))
            return engine

    def start_or_resume(
        self,
        profile: Callable[[], Path] | None,
        patient: str | None,
        facts: SessionFacts | None = None,
    ) -> Resumed | None:
        """What `run` and `serve` do first: resume the room's interrupted session if it is
        recent, else start one of `profile()` for `patient` (none when `profile` is None).

        `profile` is called only when nothing resumes, so a profile named for a new session
        is looked up only if one starts. Returns the session resumed, or None. Raises
        FormatError, JournalError, and whatever `profile()` raises.
        """
        resumed = self.resume_interrupted()
        if resumed is None and profile is not None:
            assert patient is not None
            self.start(profile(), patient, facts)
        return resumed

    def resume_interrupted(self, now: datetime | None = None) -> Resumed | None:
        """Resume the newest interrupted session if it is recent; close older ones."""
        now = now or datetime.now(UTC)
        window = self.folder.room().resume_window
        candidates = self.journal.interrupted()
        resumed: Resumed | None = None
        for item in reversed(candidates):  # newest first
            last = _last_seen(self.journal, item)
            age = (now - last).total_seconds()
            if resumed is None and age <= window and not self.running:
                outcome = self._resume(item.session, now, age)
                if isinstance(outcome, Resumed):
                    resumed = outcome
                    continue
                if outcome == ENDED_IN_GAP:
                    continue
            self._close_interrupted(item.session.id, item.session.started_wall, last)
        return resumed

    def _resume(self, summary: Any, now: datetime, gap: float) -> Resumed | str | None:
        """Resumed; ENDED_IN_GAP; or None when the session cannot resume (its profile is
        gone or broken) and is to be closed as interrupted.

        What the session clock passed while the program was down is journaled with
        `in_gap: true`: those phases began and those check-ins fell due, but no track was
        heard and no chime sounded, and the review says so.
        """
        try:
            compiled = self.folder.compile(Path(summary.profile_path), summary.patient)
        except Exception:  # the profile changed or vanished: the session cannot resume
            return None
        journaled = self.journal.events(summary.id)
        session_t = (now - summary.started_wall).total_seconds()
        state, gap_events = replay(compiled.timeline, journaled, session_t)
        sink = self._sink(summary.id)
        for event in gap_events:
            sink.append(event.to_dict(summary.started_wall) | {"in_gap": True})
        sink.close()  # on disk, in order, before the resumed engine writes after them
        if state.ended:
            return ENDED_IN_GAP
        self._launch(compiled, summary.id, summary.started_wall, restore=(state, gap))
        return Resumed(summary.id, gap)

    def _close_interrupted(self, session_id: str, started: datetime, last: datetime) -> None:
        t = max(0.0, (last - started).total_seconds())
        ended = Event("session_ended", t, {"reason": "interrupted"})
        self.journal.append(session_id, ended.to_dict(started))

    def _launch(
        self, compiled: Compiled, session_id: str, started: datetime, restore: Any
    ) -> Engine:
        room = self.folder.room()
        early: list[Any] = []  # what devices say while they are being opened
        holder: dict[str, Engine] = {}

        def report(r: Any) -> None:
            engine = holder.get("engine")
            if engine is None:
                early.append(r)
            else:
                engine.report(r)

        devices = self._devices(room, report, compiled.profile_path.resolve().parent)
        engine = Engine(
            compiled.timeline,
            devices,
            sink=self._sink(session_id),
            started_wall=started,
            restore=restore,
        )
        holder["engine"] = engine
        for callback in self._subscribers:
            engine.subscribe(callback)
        for r in early:
            engine.report(r)
        if self._midi_input:
            from setandsetting.engine.devices import midi_control

            control_input = midi_control(room, engine.report)
            if control_input is not None:
                engine.attach(control_input)
        self.engine, self.session_id, self.compiled = engine, session_id, compiled
        engine.start()
        return engine

    def close(self) -> None:
        """The program stops: a running session's music fades out and `daemon_stopped` is
        journaled, and the session stays open for the next start to resume."""
        if self.engine is not None and self.engine.running:
            self.engine.halt()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def _last_seen(journal: Journal, item: Any) -> datetime:
    """When an interrupted session was last known alive: its heartbeat or last event."""
    times = [item.session.started_wall]
    if item.heartbeat is not None:
        times.append(item.heartbeat.wall)
    events = journal.events(item.session.id)
    if events:
        times.append(datetime.fromisoformat(events[-1]["wall"]))
    return max(times)
