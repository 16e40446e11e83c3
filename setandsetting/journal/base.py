"""What the engine writes its session to: a small interface, so the engine depends on the
journal's promise and not on SQLite (the writer is journal/writer.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol


class SessionLog(Protocol):
    """One session's record, as the engine sees it. No method may wait for a disk.

    `append` and `heartbeat` only queue, in order. `after_written(callback)` runs the
    callback once everything queued before it is on disk (or found unwritable: `degraded`
    then says why) — the engine acknowledges a control only then. `retry` asks again for
    what a failing disk left waiting; `close` waits until every queued write is done.
    """

    def append(self, event: dict[str, Any]) -> None: ...

    def heartbeat(self, t: float, wall: datetime, state: dict[str, Any]) -> None: ...

    def after_written(self, callback: Callable[[], None]) -> None: ...

    @property
    def degraded(self) -> str | None: ...

    def retry(self) -> None: ...

    def close(self) -> None: ...


class Unjournaled:
    """A session kept nowhere (rehearsal rigs, tests, benchmarks): written at once."""

    degraded: str | None = None

    def append(self, event: dict[str, Any]) -> None:
        pass

    def heartbeat(self, t: float, wall: datetime, state: dict[str, Any]) -> None:
        pass

    def after_written(self, callback: Callable[[], None]) -> None:
        callback()

    def retry(self) -> None:
        pass

    def close(self) -> None:
        pass
