"""LoginLimit: five wrong tokens a minute per client address, then a wait in whole seconds."""

from __future__ import annotations

from setandsetting.server.login_limit import LoginLimit
from tests.support.clock import SteppedClock


def test_the_sixth_try_in_a_minute_waits_until_the_first_ages_out() -> None:
    clock = SteppedClock()
    limit = LoginLimit(clock=clock)
    for _ in range(4):
        limit.failed("10.0.0.1")
        clock.advance(3)
    assert limit.retry_after("10.0.0.1") is None
    limit.failed("10.0.0.1")  # the fifth, 12 s after the first
    assert limit.retry_after("10.0.0.1") == 48
    clock.advance(47.5)
    assert limit.retry_after("10.0.0.1") == 1  # never 0: a fraction still waits
    clock.advance(0.5)
    assert limit.retry_after("10.0.0.1") is None
    limit.failed("10.0.0.1")  # the window slides: four are still inside it
    assert limit.retry_after("10.0.0.1") == 3


def test_clients_are_counted_apart_and_a_success_clears_one() -> None:
    clock = SteppedClock()
    limit = LoginLimit(failures=2, window_s=10, clock=clock)
    for client in ("a", "a", "b"):
        limit.failed(client)
    assert (limit.retry_after("a"), limit.retry_after("b")) == (10, None)
    limit.succeeded("a")
    assert limit.retry_after("a") is None
    limit.failed(None)
    limit.failed(None)  # no address at all: one shared count
    assert limit.retry_after(None) == 10


def test_the_quietest_client_is_forgotten_beyond_the_cap() -> None:
    clock = SteppedClock()
    limit = LoginLimit(failures=1, window_s=60, clock=clock, max_clients=2)
    limit.failed("old")
    clock.advance(1)
    limit.failed("newer")
    clock.advance(1)
    limit.failed("newest")
    assert [limit.retry_after(c) for c in ("old", "newer", "newest")] == [None, 59, 60]
