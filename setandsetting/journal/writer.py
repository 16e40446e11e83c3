"""The engine's journal writer: no fsync ever stands between the engine and a chime, no
control is acknowledged before it is on disk, and a failing disk never stops the session.

One writer per journal, shared by the sessions of a room (what a failing disk left waiting
for one session is written, in order, before the next one's events):

- Writing is done by a thread of the writer's own: `append` and `heartbeat` only queue,
  so no fsync (1-20 ms on a real disk) delays a device. Whatever waits is written
  together, in order, in one durable commit; the heartbeat (once a second, the engine's
  position for resume) is written without an fsync (see Journal.heartbeat).
- `after_written(callback)` runs the callback once everything queued before it has been
  written, or found unwritable.
- When the disk fills (or the file fails) the events wait in memory, in order, and
  `degraded` says so (for `status`); the next write that works writes them, followed by
  one `error` event per session saying what happened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from setandsetting.core.events import Event
from setandsetting.journal.store import Journal, JournalError, UnknownSession, check_event

log = logging.getLogger(__name__)

Beat = tuple[str, float, datetime | str, dict[str, Any]]  # session, t, wall, state


class JournalWriter:
    """Queues the engine's writes and writes them on its own thread (see the module)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._cond = threading.Condition()
        self._queue: list[tuple[str, Any]] = []  # (kind, item), in the order they came
        self._thread: threading.Thread | None = None
        self._closed = False
        self._write_lock = threading.Lock()  # one batch at a time (also after close)
        self._pending: list[tuple[str, dict[str, Any]]] = []  # events not yet on disk
        self._beat: Beat | None = None  # the newest position not yet written
        self._failure: str | None = None
        self._since: str | None = None

    def session(self, session_id: str) -> SessionWriter:
        """The SessionLog an engine writes one session to."""
        return SessionWriter(self, session_id)

    # ------------------------------------------------------------------ queueing

    def append(self, session_id: str, event: dict[str, Any]) -> None:
        self._put("event", (session_id, event))

    def heartbeat(
        self, session_id: str, t: float, wall: datetime | str, state: dict[str, Any]
    ) -> None:
        """Keep the newest position for the next write (older ones are of no use)."""
        self._put("beat", (session_id, t, wall, state))

    def after_written(self, callback: Callable[[], None]) -> None:
        self._put("call", callback)

    def retry(self) -> None:
        """Try again to write what a failing disk left waiting (never blocks; nothing to
        do, and no writer wake-up, while the journal is healthy)."""
        if self._failure is not None:
            self._put("retry", None)

    def drain(self) -> bool:
        """Wait until everything queued so far has been tried; True if all is on disk."""
        done = threading.Event()
        self.after_written(done.set)
        done.wait()
        return self._failure is None and not self._pending

    @property
    def degraded(self) -> str | None:
        """None when everything is on disk; else what went wrong (for `status`)."""
        if self._failure is None:
            return None
        return (
            f"journal not written since {self._since}: {self._failure}; "
            f"{len(self._pending)} event(s) kept in memory"
        )

    @property
    def pending(self) -> int:
        """Events kept in memory because the disk refused them."""
        return len(self._pending)

    def close(self) -> None:
        """Write everything queued, then stop the thread (blocks until done). Later writes
        (a device's report after the end) are written at once, on the caller's thread."""
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify()
        if thread is not None:
            thread.join()
        if self._pending:
            log.error("%d journal event(s) could not be written: %s", self.pending, self._failure)

    def _put(self, kind: str, item: Any) -> None:
        with self._cond:
            if not self._closed:
                self._queue.append((kind, item))
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="setandsetting-journal", daemon=True
                    )
                    self._thread.start()
                self._cond.notify()
                return
        self._write([(kind, item)])

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                batch, self._queue = self._queue, []
                if not batch and self._closed:
                    return
            self._write(batch)

    # ------------------------------------------------------------------ writing

    def _write(self, batch: list[tuple[str, Any]]) -> None:
        with self._write_lock:
            for kind, item in batch:
                if kind == "event":
                    session_id, event = item
                    try:
                        check_event(event)
                    except ValueError:  # one bad event (a bug) must not cost the others
                        log.exception("event not journaled: %r", event)
                        continue
                    self._pending.append((session_id, dict(event)))
                elif kind == "beat":
                    self._beat = item
            try:
                self._flush()
            except Exception as err:  # the music goes on; status shows the journal problem
                log.error("journal write failed: %s", err)
        for kind, item in batch:
            if kind == "call":
                try:
                    item()
                except Exception:
                    log.exception("journal callback failed")

    def _flush(self) -> None:
        """Write what waits: the events in order in one commit, then the last heartbeat."""
        try:
            if self._pending:
                batch = list(self._pending)
                if self._failure is not None:
                    batch += self._recovery_notes(batch)
                self.journal.append_many(batch)
                self._pending.clear()
                self._failure = self._since = None
            if self._beat is not None:
                self.journal.heartbeat(*self._beat)
                self._beat = None
        except UnknownSession:
            raise
        except JournalError as exc:
            if self._failure is None:
                self._failure = str(exc)
                self._since = datetime.now(UTC).isoformat(timespec="seconds")

    def _recovery_notes(
        self, batch: list[tuple[str, dict[str, Any]]]
    ) -> list[tuple[str, dict[str, Any]]]:
        """One `error` event per affected session, at its last kept event's time."""
        last: dict[str, dict[str, Any]] = {}
        count: dict[str, int] = {}
        for session_id, event in batch:
            last[session_id] = event
            count[session_id] = count.get(session_id, 0) + 1
        notes = []
        for session_id, event in last.items():
            message = (
                f"the journal could not be written from {self._since} "
                f"({self._failure}); {count[session_id]} event(s) were kept in memory "
                "and written late, in order"
            )
            note = Event("error", event["t"], {"source": "journal", "message": message})
            wall = {"wall": event["wall"]} if "wall" in event else {}
            notes.append((session_id, note.to_dict() | wall))
        return notes


@dataclass(frozen=True, slots=True)
class SessionWriter:
    """A JournalWriter bound to one session: the engine's SessionLog."""

    writer: JournalWriter
    session_id: str

    def append(self, event: dict[str, Any]) -> None:
        self.writer.append(self.session_id, event)

    def heartbeat(self, t: float, wall: datetime, state: dict[str, Any]) -> None:
        self.writer.heartbeat(self.session_id, t, wall, state)

    def after_written(self, callback: Callable[[], None]) -> None:
        self.writer.after_written(callback)

    @property
    def degraded(self) -> str | None:
        return self.writer.degraded

    def retry(self) -> None:
        self.writer.retry()

    def close(self) -> None:
        """The session's last write has been tried (the writer goes on for the room)."""
        self.writer.drain()
