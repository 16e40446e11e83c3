"""LoginSessions: random IDs, idle and absolute expiry on an injected clock, logout, a cap."""

from __future__ import annotations

import re

from setandsetting.server.login_sessions import LoginSessions, boot_clock
from tests.support.clock import SteppedClock


def store(clock: SteppedClock, limit: int = 1000) -> LoginSessions:
    return LoginSessions(idle_s=100.0, max_s=250.0, clock=clock, limit=limit)


def test_a_login_is_a_fresh_random_id_known_only_to_its_store() -> None:
    clock = SteppedClock()
    logins = store(clock)
    ids = {logins.create() for _ in range(50)}
    assert len(ids) == 50 and all(re.fullmatch(r"[A-Za-z0-9_-]{43}", i) for i in ids)
    assert all(logins.valid(i) for i in ids)
    assert not store(clock).valid(next(iter(ids)))  # another store (a restart) knows none
    assert not logins.valid(None) and not logins.valid("") and not logins.valid("x" * 43)


def test_idle_expiry_restarts_with_every_use() -> None:
    clock = SteppedClock()
    logins = store(clock)
    login = logins.create()
    clock.advance(99)
    assert logins.valid(login)
    clock.advance(99)
    assert logins.valid(login)
    clock.advance(100)
    assert not logins.valid(login)
    clock.advance(-150)
    assert not logins.valid(login)  # removed, not only late


def test_absolute_expiry_however_often_it_is_used() -> None:
    clock = SteppedClock()
    logins = store(clock)
    login = logins.create()
    for _ in range(4):
        clock.advance(62)
        assert logins.valid(login)
    clock.advance(1)  # 249 s
    assert logins.valid(login)
    clock.advance(1)  # 250 s
    assert not logins.valid(login)


def test_end_ends_only_that_login() -> None:
    clock = SteppedClock()
    logins = store(clock)
    one, two = logins.create(), logins.create()
    logins.end(one)
    logins.end(None)
    logins.end("unknown")
    assert (logins.valid(one), logins.valid(two), len(logins)) == (False, True, 1)


def test_expired_logins_are_forgotten_and_the_count_is_capped() -> None:
    clock = SteppedClock()
    logins = store(clock, limit=3)
    first = logins.create()
    clock.advance(1)
    a, b = logins.create(), logins.create()
    clock.advance(1)
    assert logins.valid(first)  # used last: not the one to go
    c = logins.create()
    assert len(logins) == 3
    assert [logins.valid(i) for i in (first, a, b, c)] == [True, False, True, True]
    clock.advance(100)
    assert len(logins) == 0


def test_the_default_clock_counts_suspended_time_and_moves_forward() -> None:
    import time

    first = boot_clock()
    assert first >= time.monotonic() - 1  # boot time includes what monotonic leaves out
    assert boot_clock() >= first
