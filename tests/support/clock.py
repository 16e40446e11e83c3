"""A clock a test steps by hand, for what the server times (logins, login attempts)."""

from __future__ import annotations


class SteppedClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
