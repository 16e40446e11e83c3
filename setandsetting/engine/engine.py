"""The live engine: owns one session in real time.

One thread — the device thread — owns every device call and the session state. Everything
else only puts messages on its queue, and who wakes it for what is:

- APScheduler, for the planned moments. Two date jobs, each kept at the next moment of
  its kind and re-planned when the future moves: the session's next moment (a phase end,
  a check-in or its escalation, a cue, a track's turn) and the chime device's opening
  lead (CHIME_AHEAD_S before a chime). A job fires SCHEDULE_AHEAD_S early and carries its
  moment's session time; the device thread waits the rest on the monotonic clock. So a
  job late by less than that (APScheduler's thread must wake and run first) makes no
  chime late, and one early (the wall clock stepped) makes none early.
- The device thread itself, for what moves: fade steps on the FADE_HZ grid of the
  monotonic clock (now - t0), only those that send a device something new
  (Conductor.next_wake), and not at all while levels are steady; and the once-a-second
  upkeep (device upkeep, heartbeat, the wall-clock check that re-plans the scheduler).
  Every wake catches the session up to now, so a moment whose job never came would still
  happen at the next fade step or upkeep — late, never lost.
- libVLC/pygame/MIDI, through BackendReports; the CLI/API, with controls.

Every event is journaled (by the journal writer's thread, so no fsync delays a device)
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

from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from setandsetting.backends.base import BackendReport
from setandsetting.core import session
from setandsetting.core.controls import Control, stale_reason
from setandsetting.core.events import Event
from setandsetting.core.session import State
from setandsetting.core.status import snapshot
from setandsetting.core.timeline import Timeline
from setandsetting.engine.conductor import FADE_HZ, Conductor, Devices
from setandsetting.engine.resume import control_fields
from setandsetting.journal.base import SessionLog, Unjournaled

log = logging.getLogger(__name__)

UPKEEP_S = 1.0  # device upkeep (libVLC watchdog, trims) and the heartbeat (for resume)
CLOCK_STEP_S = 0.5  # a wall-clock jump bigger than this re-plans the scheduler
CONTROL_TIMEOUT_S = 5.0
REPEAT_ERROR_S = 10.0  # the same engine fault is journaled again only after this long
JOB_ID = "next-moment"  # the scheduler's job for the session's next moment
READY_JOB_ID = "chimes-ready"  # and the one for the chime device's opening lead
# A job fires this much before its moment and the device thread waits the rest. Measured
# on the 2-core test machine: a DateTrigger job's message reaches the device thread
# 0.4 ms late at the median; at p99 4 ms idle, 10-30 ms with both cores busy.
SCHEDULE_AHEAD_S = 0.05
WAKE_AFTER_S = 0.0002  # wake this much after a moment, never a hair before it


class EngineClosed(RuntimeError):
    """The session has ended; no control can be applied any more."""


@dataclass
class _Msg:
    kind: str  # "moment" | "control" | "report" | "halt"
    payload: Any = None
    future: Future | None = None


class Engine:
    """A live session. Start it, submit controls, read snapshots, stop it."""

    def __init__(
        self,
        timeline: Timeline,
        devices: Devices,
        *,
        sink: SessionLog | None = None,
        started_wall: datetime | None = None,
        restore: tuple[State, float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeline = timeline
        self.devices = devices
        self.sink: SessionLog = sink or Unjournaled()
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
            # The job only puts a message on the queue, so it runs on the scheduler's own
            # thread: a pool would add a thread's wake-up to every moment, for nothing.
            executors={"default": DebugExecutor()},
            job_defaults={
                # A late moment must still fire, however late (a loaded machine, a
                # suspend): the session catches up to now on the tick. APScheduler's
                # default grace (1 s) would drop it, leaving it to the next upkeep.
                "misfire_grace_time": None,
                # Were runs of a job to pile up, they fire once: one tick catches the
                # session up to every moment passed. (Each job is a date job kept at the
                # next moment only, so today none piles up.)
                "coalesce": True,
                "max_instances": 1,
            },
        )
        self._planned: dict[str, float | None] = {}  # job id -> the moment it fires for
        self._armed: float | None = None  # a moment the scheduler handed over, to wait for
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

    def submit(
        self,
        control: Control,
        timeout: float = CONTROL_TIMEOUT_S,
        pressed_at: float | None = None,
    ) -> list[dict[str, Any]]:
        """Apply a control; returns its events once they are journaled (on disk).

        `pressed_at` (epoch seconds, the wall moment a person pressed it): judged when the
        device thread comes to it, so a control that waited in a frozen daemon or a slow
        network is refused (`control_refused`, journaled) rather than applied late."""
        if not self._thread.is_alive():
            raise EngineClosed("no session is running")
        future: Future[list[dict[str, Any]]] = Future()
        self._queue.put(_Msg("control", (control, pressed_at), future))
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
        snap = snapshot(state, self.now(), self.conductor.faults.why())
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
                    reached = self._armed is not None and now >= self._armed
                    if reached:
                        self._armed = None
                    self.conductor.tick(now)
                    upkeep = now >= next_upkeep
                    if upkeep:
                        next_upkeep = now + UPKEEP_S
                        self._poll_devices(now)
                        self._heartbeat(now)
                    elif self.devices.music.settling():
                        self._poll_music(now)
                    # The planned moments move only with an event (a control is one), when
                    # one is reached and with the wall clock; a fade step changes none of
                    # them, and costs this loop less.
                    if upkeep or reached or self._events != events_before:
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
        """The next message, or None when this thread is due itself: at the moment the
        scheduler handed over (a timed wait is exact to a fraction of a millisecond, and a
        fade step must not round a chime up to the next step), a fade step that sends
        something, the upkeep (due at `upkeep`)."""
        now = self.now()
        until = upkeep if self._armed is None else min(upkeep, self._armed)
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
            control, pressed_at = msg.payload
            try:
                late = None if pressed_at is None else stale_reason(pressed_at, time.time())
                if late is not None:
                    events = [self._refuse(control, late, pressed_at, now)]
                else:
                    events = self._apply(control, now)
            except Exception as err:
                msg.future.set_exception(err)
                raise
            future = msg.future
            self.sink.after_written(lambda: future.set_result(events))  # on disk first
        elif msg.kind == "report":
            self._device_report(msg.payload, now)
        elif msg.kind == "moment":  # a stale one (re-planned since) costs one tick
            self._armed = msg.payload if self._armed is None else min(self._armed, msg.payload)
        elif msg.kind == "halt" and self.conductor.open:  # not after the session's end
            self._on_event(Event("daemon_stopped", now))
            self.conductor.halt(now)

    def _apply(self, control: Control, now: float) -> list[dict[str, Any]]:
        self._on_event(Event("control", now, control_fields(control)))
        events = self.conductor.control(control, now)
        return [e.to_dict(self.started_wall) for e in events]

    def _refuse(
        self, control: Control, reason: str, pressed_at: float, now: float
    ) -> dict[str, Any]:
        """Journal a control refused before the session saw it (so no `control` event)."""
        pressed = datetime.fromtimestamp(pressed_at, UTC).isoformat(timespec="milliseconds")
        event = Event("control_refused", now, {"action": control.action, "reason": reason,
                                                "pressed_at": pressed})  # fmt: skip
        self._on_event(event)
        return event.to_dict(self.started_wall)

    def _device_report(self, report: BackendReport, now: float) -> None:
        if report.source == "control" and report.kind not in ("device_lost", "device_back"):
            from setandsetting.backends.midi_input import control_from_input  # loads rtmidi

            state = self.conductor.state
            control = control_from_input(report, state.nudge_pct if state else 0.0)
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
        self.sink.retry()

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
        """Keep each scheduler job at its next planned moment, SCHEDULE_AHEAD_S early.

        APScheduler runs on wall-clock datetimes, the session on the monotonic clock: the
        moment is converted when it is scheduled, and every job is converted again once the
        upkeep sees that the wall clock has stepped (NTP, a suspend) — else a step back
        would leave a job late by the whole step. A job that fires early meanwhile is
        harmless: it carries its moment."""
        offset = self._wall_minus_mono()
        stepped = abs(offset - self._wall_offset) > CLOCK_STEP_S
        if stepped:
            self._wall_offset = offset
        planned = {
            JOB_ID: self.conductor.next_moment(),
            READY_JOB_ID: self.conductor.chimes_ready_at(),
        }
        for job_id, moment in planned.items():
            if moment == self._planned.get(job_id) and not stepped:
                continue
            self._planned[job_id] = moment
            if moment is None:
                with contextlib.suppress(Exception):
                    self._scheduler.remove_job(job_id)
                continue
            ahead = max(0.0, moment - SCHEDULE_AHEAD_S - now)
            self._scheduler.add_job(
                self._fire,
                "date",
                run_date=datetime.now(UTC) + timedelta(seconds=ahead),
                args=(moment,),
                id=job_id,
                replace_existing=True,
            )

    def _fire(self, moment: float) -> None:
        """The scheduler's job (on its thread): hand the moment to the device thread."""
        self._queue.put(_Msg("moment", moment))

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
