"""The live engine: owns one session in real time.

One thread — the device thread — owns every device call and the session state. Everything
else only puts messages on its queue: APScheduler fires the planned moments (phase ends,
check-ins, cues) as "tick" messages, libVLC/pygame/MIDI report through BackendReports, and
the CLI/API submit controls. Fades are computed from the monotonic clock (now - t0) on a
25 Hz grid while anything moves, and not at all while levels are steady; the thread wakes
only at the grid steps that send a device something new (Conductor.next_wake), at planned
moments and for the once-a-second upkeep.

Every event is journaled (by the JournalSink's writer thread, so no fsync delays a device)
before a control is acknowledged, so after a crash the journal holds every control a
clinician was told had been applied.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from setandsetting.backends.base import BackendReport
from setandsetting.core import session
from setandsetting.core.controls import Control
from setandsetting.core.events import Event
from setandsetting.core.session import State
from setandsetting.core.status import snapshot
from setandsetting.core.timeline import Timeline
from setandsetting.engine.conductor import FADE_HZ, Conductor, Devices
from setandsetting.engine.resume import control_fields

log = logging.getLogger(__name__)

UPKEEP_S = 1.0  # device upkeep (libVLC watchdog, trims) and the heartbeat (for resume)
CLOCK_STEP_S = 0.5  # a wall-clock jump bigger than this re-plans the scheduler
CONTROL_TIMEOUT_S = 5.0
REPEAT_ERROR_S = 10.0  # the same engine fault is journaled again only after this long
JOB_ID = "next-moment"
WAKE_AFTER_S = 0.0002  # wake this much after a moment, never a hair before it


class EngineClosed(RuntimeError):
    """The session has ended; no control can be applied any more."""


class JournalSink:
    """Where the engine writes: a BufferedJournal bound to one session (or nothing).

    The writing is done by a thread of the sink's own: `append` and `heartbeat` only
    queue, so no fsync (1-20 ms on a real disk) ever stands between the engine thread and
    a chime or a fade step. Whatever waits is written together, in order, in one commit.
    `after_written(callback)` runs the callback once everything queued before it has been
    written (or found unwritable: the journal then reports itself degraded) — the engine
    acknowledges a control only then, so after a crash the journal holds every control a
    clinician was told had been applied. `close()` writes what waits and stops the thread.
    """

    def __init__(self, journal: Any | None = None, session_id: str | None = None) -> None:
        self.journal = journal
        self.session_id = session_id
        self._cond = threading.Condition()
        self._queue: list[tuple[str, Any]] = []
        self._writer: threading.Thread | None = None
        self._closed = False

    def append(self, event: dict[str, Any]) -> None:
        if self.journal is not None:
            self._put("event", event)

    def heartbeat(self, t: float, wall: datetime, state: dict[str, Any]) -> None:
        if self.journal is not None:
            self._put("beat", (t, wall, state))

    def after_written(self, callback: Callable[[], None]) -> None:
        if self.journal is None:
            callback()
        else:
            self._put("call", callback)

    @property
    def degraded(self) -> str | None:
        return getattr(self.journal, "degraded", None)

    def flush(self) -> None:
        """Try again to write what a failing disk left waiting (never blocks; nothing to
        do, and no writer wake-up, while the journal is healthy)."""
        if self.journal is not None and self.degraded:
            self._put("retry", None)

    def close(self) -> None:
        """Write everything queued, then stop the writer (blocks until done)."""
        with self._cond:
            self._closed = True
            writer = self._writer
            self._cond.notify()
        if writer is not None:
            writer.join()

    def _put(self, kind: str, item: Any) -> None:
        with self._cond:
            if self._closed:  # after the end (a late device report): written at once
                self._write([(kind, item)])
                return
            self._queue.append((kind, item))
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._run, name="setandsetting-journal", daemon=True
                )
                self._writer.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                batch, self._queue = self._queue, []
                if not batch and self._closed:
                    return
            self._write(batch)

    def _write(self, batch: list[tuple[str, Any]]) -> None:
        journal = self.journal
        with journal.lock:
            for kind, item in batch:
                try:
                    if kind == "event":
                        journal.add(self.session_id, item)
                    elif kind == "beat":
                        journal.add_heartbeat(self.session_id, *item)
                except Exception:  # one bad event (a bug) must not cost the others
                    log.exception("event not journaled: %r", item)
            try:
                journal.flush()
            except Exception as err:  # the music goes on; status shows the journal problem
                log.error("journal write failed: %s", err)
        for kind, item in batch:
            if kind == "call":
                try:
                    item()
                except Exception:
                    log.exception("journal callback failed")


@dataclass
class _Msg:
    kind: str  # "tick" | "control" | "report" | "call" | "halt"
    payload: Any = None
    future: Future | None = None


class Engine:
    """A live session. Start it, submit controls, read snapshots, stop it."""

    def __init__(
        self,
        timeline: Timeline,
        devices: Devices,
        *,
        sink: JournalSink | None = None,
        started_wall: datetime | None = None,
        restore: tuple[State, float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeline = timeline
        self.devices = devices
        self.sink = sink or JournalSink()
        self.started_wall = started_wall or datetime.now(UTC)
        self._restore = restore
        self._attached: list[Any] = []
        self._monotonic = monotonic
        # Session time is wall time since the start, kept on the monotonic clock.
        age = (datetime.now(UTC) - self.started_wall).total_seconds()
        self._mono0 = monotonic() - age
        self._wall_offset = self._wall_minus_mono()
        self._queue: queue.Queue[_Msg] = queue.Queue()
        self._subscribers: list[Callable[[dict[str, Any]], None]] = []
        self._sub_lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={
                # A late tick is harmless (the session catches up to "now"), a skipped one
                # is not: run however late, and only once for many missed runs.
                "misfire_grace_time": None,
                "coalesce": True,
                "max_instances": 1,
            },
        )
        self._planned: float | None = None
        self._events = 0  # events so far (a step that caused none need not re-plan)
        self._thread = threading.Thread(target=self._run, name="setandsetting-engine")
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self.conductor = Conductor(timeline, devices, self._on_event)

    # ------------------------------------------------------------------ public

    def now(self) -> float:
        """Session seconds, from the monotonic clock."""
        return self._monotonic() - self._mono0

    def start(self) -> None:
        self._scheduler.start()
        self._thread.start()
        self._ready.wait(10.0)
        if self._failure is not None:
            raise RuntimeError(f"the engine could not start: {self._failure}") from self._failure

    def submit(self, control: Control, timeout: float = CONTROL_TIMEOUT_S) -> list[dict[str, Any]]:
        """Apply a control; returns its events once they are journaled (on disk)."""
        if not self._thread.is_alive():
            raise EngineClosed("no session is running")
        future: Future[list[dict[str, Any]]] = Future()
        self._queue.put(_Msg("control", control, future))
        return future.result(timeout)

    def report(self, report: BackendReport) -> None:
        """For device callbacks: only queues (never touches a device)."""
        self._queue.put(_Msg("report", report))

    def attach(self, closeable: Any) -> None:
        """Something to close when the session ends (e.g. the MIDI control input)."""
        self._attached.append(closeable)

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Receive every event dict (on the engine thread: the callback must not block)."""
        with self._sub_lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[dict[str, Any]], None]) -> None:
        with self._sub_lock, contextlib.suppress(ValueError):
            self._subscribers.remove(callback)

    def snapshot(self) -> dict[str, Any]:
        """The status now, computed by the reader: the session state is immutable, so any
        thread may read the current one (the engine spends nothing on unread statuses)."""
        state = self.conductor.state
        if state is None:
            return {}
        snap = snapshot(state, self.now())
        snap["journal_degraded"] = self.sink.degraded
        return snap

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, reason: str = "stopped") -> None:
        """End the session gently (music fades out) and wait for the engine to finish."""
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self.submit(Control("stop", reason))
        self.join()

    def halt(self) -> None:
        """Stop the daemon, not the session: the music fades out, `daemon_stopped` is
        journaled and the session stays open in the journal, for the next start to resume."""
        if self._thread.is_alive():
            self._queue.put(_Msg("halt"))
        self.join()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ------------------------------------------------------------------ the device thread

    def _run(self) -> None:
        try:
            self._begin()
        except BaseException as err:  # reported by start()
            self._failure = err
            self._ready.set()
            self._shutdown()
            return
        self._ready.set()
        next_upkeep = self.now()
        last_fault: tuple[str, float] = ("", -REPEAT_ERROR_S)
        try:
            while True:
                msg = self._next_message(next_upkeep)
                now = self.now()
                try:
                    events_before = self._events
                    if msg is not None:
                        self._handle(msg, now)
                    self.conductor.tick(now)
                    upkeep = now >= next_upkeep
                    if upkeep:
                        next_upkeep = now + UPKEEP_S
                        self._poll_devices(now)
                        self._heartbeat(now)
                    elif self.devices.music.settling():
                        self._poll_music(now)
                    # The next moment moves only with an event (a control is one) and the
                    # wall clock; a fade step changes neither, and costs this loop less.
                    if upkeep or self._events != events_before:
                        self._replan(now)
                except Exception as err:
                    # The session state is immutable: a step that raised left the last good
                    # state in place, and the devices keep playing. Stopping would silence
                    # the room, so the engine journals the fault (once per 10 s) and goes on.
                    log.exception("engine step failed")
                    message = repr(err)
                    if message != last_fault[0] or now - last_fault[1] >= REPEAT_ERROR_S:
                        last_fault = (message, now)
                        self._on_event(
                            Event("error", now, {"source": "engine", "message": message})
                        )
                if self.conductor.ended:
                    break
        except BaseException as err:  # never silently: journal what stopped the engine
            log.exception("engine failed")
            self._on_event(Event("error", self.now(), {"source": "engine", "message": repr(err)}))
            raise
        finally:
            self._drain_controls()
            self._shutdown()

    def _begin(self) -> None:
        now = self.now()
        if self._restore is not None:
            state, gap = self._restore
            self.conductor.state = state
            self._on_event(Event("session_resumed", now, {"gap_s": round(gap, 3)}))
            self._apply(Control("rejoin"), now)
        else:
            self.conductor.start(max(0.0, now))
        self._replan(now)

    def _next_message(self, upkeep: float) -> _Msg | None:
        """The next message, or None when the conductor or the upkeep (due at `upkeep`)
        next needs this thread: a fade step that sends something, a planned moment.

        The engine wakes at a planned moment by itself (a timed wait is exact to a fraction
        of a millisecond, and a fade step must not round a chime up to the next step);
        the scheduler's tick is the safety net, and arrives milliseconds later."""
        now = self.now()
        until = upkeep
        if self.devices.music.settling():  # polled at every fade step
            until = min(until, (math.floor(now * FADE_HZ) + 1) / FADE_HZ)
        wake = self.conductor.next_wake(now, until)
        try:  # also a moment just passed and not yet done: at once
            return self._queue.get(timeout=max(0.0, wake - now) + WAKE_AFTER_S)
        except queue.Empty:
            return None

    def _handle(self, msg: _Msg, now: float) -> None:
        if msg.kind == "control":
            assert msg.future is not None
            if self.conductor.halted:
                msg.future.set_exception(EngineClosed("the room daemon is stopping"))
                return
            try:
                events = self._apply(msg.payload, now)
            except Exception as err:
                msg.future.set_exception(err)
                raise
            future = msg.future
            self.sink.after_written(lambda: future.set_result(events))  # on disk first
        elif msg.kind == "report":
            self._device_report(msg.payload, now)
        elif msg.kind == "halt" and self.conductor.open:  # not after the session's end
            self._on_event(Event("daemon_stopped", now))
            self.conductor.halt(now)

    def _apply(self, control: Control, now: float) -> list[dict[str, Any]]:
        self._on_event(Event("control", now, control_fields(control)))
        events = self.conductor.control(control, now)
        return [e.to_dict(self.started_wall) for e in events]

    def _device_report(self, report: BackendReport, now: float) -> None:
        if report.source == "control" and report.kind not in ("device_lost", "device_back"):
            control = _control_from_input(report, self.conductor.state)
        else:
            self.conductor.tick(now)
            control = self.conductor.decide(report)
        if control is not None and not self.conductor.halted:
            self._apply(control, now)
        else:
            self.conductor.report(report, now)

    def _poll_devices(self, now: float) -> None:
        self._poll_music(now)
        try:
            self.devices.chimes.poll()
        except Exception as err:  # upkeep must never end the session
            self._on_event(Event("error", now, {"source": "chimes", "message": str(err)}))
        self.sink.flush()

    def _poll_music(self, now: float) -> None:
        try:
            self.devices.music.poll()
        except Exception as err:
            self._on_event(Event("error", now, {"source": "music", "message": str(err)}))

    def _heartbeat(self, now: float) -> None:
        state = self.conductor.state
        if state is None:
            return
        beat = {
            "phase": state.plan.id,
            "music": state.music,
            "voices": session.now_playing(state, now),
        }
        try:
            self.sink.heartbeat(now, datetime.now(UTC), beat)
        except Exception as err:
            log.warning("heartbeat not written: %s", err)

    def _replan(self, now: float) -> None:
        """Keep one scheduler job at the next planned moment (in wall-clock time)."""
        nxt = self.conductor.next_moment()
        offset = self._wall_minus_mono()
        stepped = abs(offset - self._wall_offset) > CLOCK_STEP_S
        if stepped:  # NTP or a suspend moved the wall clock: re-plan from the monotonic clock
            self._wall_offset = offset
        if nxt == self._planned and not stepped:
            return
        self._planned = nxt
        if nxt is None:
            with contextlib.suppress(Exception):
                self._scheduler.remove_job(JOB_ID)
            return
        run_at = datetime.now(UTC) + timedelta(seconds=max(0.0, nxt - now))
        self._scheduler.add_job(
            self._wake, "date", run_date=run_at, id=JOB_ID, replace_existing=True
        )

    def _wake(self) -> None:
        self._queue.put(_Msg("tick"))

    def _wall_minus_mono(self) -> float:
        return time.time() - self._monotonic()

    def _on_event(self, event: Event) -> None:
        self._events += 1
        data = event.to_dict(self.started_wall)
        try:
            self.sink.append(data)
        except Exception as err:  # the music goes on; status shows the journal problem
            log.error("journal write failed: %s", err)
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(data)
            except Exception:
                log.exception("event subscriber failed")

    def _drain_controls(self) -> None:
        while True:
            try:
                msg = self._queue.get_nowait()
            except queue.Empty:
                return
            if msg.future is not None and not msg.future.done():
                msg.future.set_exception(EngineClosed("the session has ended"))

    def _shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self._scheduler.shutdown(wait=False)
        for closeable in self._attached:
            with contextlib.suppress(Exception):
                closeable.close()
        with contextlib.suppress(Exception):
            self.devices.close()
        with contextlib.suppress(Exception):
            self.sink.close()  # everything journaled, every waiting control answered


KNOB_RANGE_PCT = 50.0  # a level knob spans -50 % .. +50 % around the profile's curve


def _control_from_input(report: BackendReport, state: State | None) -> Control | None:
    """A foot switch or knob action -> a Control (None when it means nothing now)."""
    from setandsetting.core.controls import parse_control

    data = report.data or {}
    if report.kind == "level" and "value" in data:
        target = (int(data["value"]) - 64) / 63.0 * KNOB_RANGE_PCT
        current = state.nudge_pct if state else 0.0
        return Control("level", round(target - current, 2))
    try:
        return parse_control(report.kind)
    except ValueError:
        return None
