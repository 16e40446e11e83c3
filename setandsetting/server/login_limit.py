"""How often a client may offer a wrong room token: a few a minute, then it must wait.

Counted per client address (the proxy's X-Forwarded-For client when room.yaml names
trusted proxies, else the peer). While a client is held back even the right token is
refused, so guessing gains nothing by trying faster. In memory, like the logins.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable

from setandsetting.server.login_sessions import boot_clock

FAILURES = 5  # wrong tokens allowed per window
WINDOW_S = 60.0
MAX_CLIENTS = 10_000  # addresses remembered; beyond, the longest quiet one is forgotten


class LoginLimit:
    def __init__(
        self,
        failures: int = FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = boot_clock,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.failures = failures
        self.window_s = window_s
        self.clock = clock
        self.max_clients = max_clients
        self._failed: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str | None) -> int | None:
        """Whole seconds this client must wait before trying again, or None if it may now."""
        now = self.clock()
        with self._lock:
            times = self._recent(client or "", now)
            if times is None or len(times) < self.failures:
                return None
            return max(1, math.ceil(times[-self.failures] + self.window_s - now))

    def failed(self, client: str | None) -> None:
        key, now = client or "", self.clock()
        with self._lock:
            times = self._recent(key, now)
            if times is None:
                if len(self._failed) >= self.max_clients:
                    quiet = min(self._failed, key=lambda k: self._failed[k][-1])
                    del self._failed[quiet]
                times = self._failed[key] = deque(maxlen=self.failures)
            times.append(now)

    def succeeded(self, client: str | None) -> None:
        with self._lock:
            self._failed.pop(client or "", None)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        """The client's failures inside the window (older ones dropped), or None."""
        times = self._failed.get(key)
        if times is None:
            return None
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if not times:
            del self._failed[key]
            return None
        return times
