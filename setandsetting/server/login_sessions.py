"""Who has logged in: a random ID per login, held in this process's memory only.

The cookie carries the ID and nothing else, so it cannot be computed from the room token,
and a login ends when it is unused for `idle_s`, `max_s` after it began, at logout — or
when the daemon restarts (nothing is stored on disk: a restart logs everyone out).
The store keeps only a hash of each ID, so a lookup's timing says nothing about the IDs.

Time comes from a clock given to the store (tests step it); the default counts time the
machine spent suspended, so a room computer closed overnight does not keep its logins.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_LOGINS = 1000  # beyond this, the least recently used login ends


def boot_clock() -> float:
    """Seconds since boot, suspend included (CLOCK_BOOTTIME), never stepped by NTP."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


@dataclass
class _Login:
    began: float
    used: float


def _key(login_id: str) -> bytes:
    return hashlib.sha256(login_id.encode("utf-8", "surrogatepass")).digest()


class LoginSessions:
    def __init__(
        self,
        idle_s: float,
        max_s: float,
        clock: Callable[[], float] = boot_clock,
        limit: int = MAX_LOGINS,
    ) -> None:
        self.idle_s = idle_s
        self.max_s = max_s
        self.clock = clock
        self.limit = limit
        self._logins: dict[bytes, _Login] = {}
        self._lock = threading.Lock()  # the event loop and FastAPI's thread pool share it

    def create(self) -> str:
        """A new login; its ID goes into the cookie."""
        login_id = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._purge(now)
            while len(self._logins) >= self.limit:
                oldest = min(self._logins, key=lambda k: self._logins[k].used)
                del self._logins[oldest]
            self._logins[_key(login_id)] = _Login(now, now)
        return login_id

    def valid(self, login_id: str | None) -> bool:
        """True for a live login, which counts as a use (the idle time starts again)."""
        if not login_id:
            return False
        key, now = _key(login_id), self.clock()
        with self._lock:
            login = self._logins.get(key)
            if login is None:
                return False
            if self._expired(login, now):
                del self._logins[key]
                return False
            login.used = now
            return True

    def end(self, login_id: str | None) -> None:
        if login_id:
            with self._lock:
                self._logins.pop(_key(login_id), None)

    def __len__(self) -> int:
        with self._lock:
            self._purge(self.clock())
            return len(self._logins)

    def _expired(self, login: _Login, now: float) -> bool:
        return now - login.used >= self.idle_s or now - login.began >= self.max_s

    def _purge(self, now: float) -> None:
        for key in [k for k, login in self._logins.items() if self._expired(login, now)]:
            del self._logins[key]
