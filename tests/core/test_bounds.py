"""The arithmetic of how far a session and its phases can reach."""

from __future__ import annotations

from setandsetting.core.bounds import (
    MAX_PHASE_S,
    MAX_SESSION_S,
    Span,
    anchored_reach,
    earliest_starts,
    floor_holds,
    latest_ends,
    reaches,
)

# 10 min, then an open phase, then 20 min (+5 min) held until 50 min after the first began.
SPANS = [Span(600.0), Span(None), Span(1200.0, 300.0, (0, 3000.0))]


def test_the_limits() -> None:
    assert (MAX_PHASE_S, MAX_SESSION_S) == (24 * 3600.0, 48 * 3600.0)


def test_earliest_starts_count_no_extension_and_no_open_phase() -> None:
    assert earliest_starts(SPANS) == [0.0, 600.0, 600.0]


def test_a_floor_holds_its_phase_past_its_earliest_start() -> None:
    assert floor_holds(SPANS) == [0.0, 0.0, 2400.0]
    assert floor_holds([Span(600.0, floor=(0, 60.0))]) == [60.0]
    assert floor_holds([Span(600.0), Span(600.0, floor=(0, 60.0))]) == [0.0, 0.0]


def test_a_phase_reaches_its_duration_with_extensions_or_its_floor_an_open_one_a_day() -> None:
    assert reaches(SPANS) == [600.0, MAX_PHASE_S, 2400.0]
    assert reaches([Span(600.0, 300.0)]) == [900.0]


def test_latest_ends_use_every_extension_and_floor() -> None:
    assert latest_ends(SPANS) == [600.0, 600.0, 3000.0]
    assert latest_ends([Span(600.0, 300.0), Span(60.0, 0.0, (0, 3600.0))]) == [900.0, 3600.0]


def test_an_anchored_reach_sums_the_phases_and_stops_at_the_longest_session() -> None:
    assert anchored_reach([600.0, 900.0, 300.0], 0, 1) == 1500.0
    assert anchored_reach([600.0, 900.0, 300.0], 1, 2) == 1200.0
    assert anchored_reach([MAX_PHASE_S] * 3, 0, 2) == MAX_SESSION_S
