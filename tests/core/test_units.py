"""Durations and levels as users write them, and the level <-> dB mapping."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from setandsetting.core.units import (
    DURATION_PATTERN,
    GAIN_PATTERN,
    LEVEL_PATTERN,
    MAX_DURATION_S,
    db_to_level,
    format_clock,
    format_duration,
    format_level,
    level_to_amplitude,
    level_to_db,
    parse_duration,
    parse_gain_db,
    parse_level,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h20m", 4800.0),
        ("1h 20m 5s", 4805.0),
        ("1:20:00", 4800.0),
        ("12:30", 750.0),
        ("250ms", 0.25),
        ("2.5m", 150.0),
        ("45", 45.0),
        (45, 45.0),
        (0, 0.0),
        (1.5, 1.5),
    ],
)
def test_parse_duration_accepts_every_documented_form(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "bad", ["", "  ", "30 minutes", "1h20", "fast", "1:61:00", "1:00:75", "-5s", -5, True, None]
)
def test_parse_duration_rejects_with_a_message(bad: object) -> None:
    with pytest.raises(ValueError, match=r"duration|h:mm:ss|negative"):
        parse_duration(bad)


TOO_LONG = "is too long: a duration is at most 48h, the longest session"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.inf, f"inf {TOO_LONG}"),
        ("99999999999999999999h", f"99999999999999999999h {TOO_LONG}"),
        ("9" * 400 + "h", f"99999999999999999999… {TOO_LONG}"),
        ("48h 1s", f"48h 1s {TOO_LONG}"),
        ("99999:00:00", f"99999:00:00 {TOO_LONG}"),
        (10**400, "this number is far too large"),
        (math.nan, "a duration must be a finite number of seconds, not negative"),
        (-1e-9, "a duration must be a finite number of seconds, not negative"),
    ],
)
def test_parse_duration_refuses_what_no_session_can_hold(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_duration(value)


def test_the_longest_duration_is_the_longest_session() -> None:
    assert MAX_DURATION_S == 48 * 3600
    assert parse_duration("48h") == MAX_DURATION_S
    assert parse_duration("2:00:00", at_most=7200.0) == 7200.0


def test_a_field_states_its_own_limit() -> None:
    with pytest.raises(ValueError) as refused:
        parse_duration("2h1s", at_most=7200.0, rule="a nap lasts at most 2h")
    assert str(refused.value) == "2h1s is too long: a nap lasts at most 2h"


@pytest.mark.parametrize("parse", [parse_level, parse_gain_db])
def test_numbers_too_large_for_a_float_are_refused_not_crashed(parse: Any) -> None:
    with pytest.raises(ValueError, match=r"^this number is far too large$"):
        parse(10**400)


@pytest.mark.parametrize(
    "text",
    [
        "90s",
        "15m",
        "1h20m",
        "1h 20m 5s",
        " 1:20:00 ",
        "12:30",
        "250ms",
        "2.5m",
        "45",
        "1H5M",
        "3Ms",
    ],
)
def test_the_duration_pattern_matches_every_form_the_parser_takes(text: str) -> None:
    assert re.fullmatch(DURATION_PATTERN, text)
    parse_duration(text)


@pytest.mark.parametrize("text", ["", "30 minutes", "1h20", "fast", "-5s", "5 s m", "1:2:3:4"])
def test_the_duration_pattern_refuses_what_the_parser_refuses(text: str) -> None:
    assert not re.fullmatch(DURATION_PATTERN, text)
    with pytest.raises(ValueError):
        parse_duration(text)


@given(st.from_regex(DURATION_PATTERN, fullmatch=True))
def test_what_the_duration_pattern_matches_parses_or_is_out_of_range(text: str) -> None:
    try:
        assert parse_duration(text) >= 0
    except ValueError as err:  # the pattern states the form; the ranges are the parser's
        assert re.search(r"is too long|is not a valid h:mm:ss time", str(err)), err


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (LEVEL_PATTERN, ["40%", "0%", "100 %", "-18dB", "0db", "-6.5DB"], ["40", "%", "loud"]),
        (GAIN_PATTERN, ["-2dB", "+1.5dB", "3 db"], ["-2", "2%", "dB"]),
    ],
)
def test_level_and_gain_patterns(pattern: str, good: list[str], bad: list[str]) -> None:
    assert all(re.fullmatch(pattern, text) for text in good)
    assert not any(re.fullmatch(pattern, text) for text in bad)


@pytest.mark.parametrize(
    ("text", "level"),
    [("40%", 0.4), ("100%", 1.0), ("0%", 0.0), ("0dB", 1.0), ("-60dB", 0.1), (0.25, 0.25)],
)
def test_parse_level(text: object, level: float) -> None:
    assert parse_level(text) == pytest.approx(level)


def test_minus_18_db_is_the_cube_root_of_its_amplitude() -> None:
    level = parse_level("-18dB")
    assert level == pytest.approx(10 ** (-18 / 60))
    assert 20 * math.log10(level_to_amplitude(level)) == pytest.approx(-18.0)


@pytest.mark.parametrize("bad", ["120%", "+3dB", "loud", "40", 1.5, -0.1, True, None, "%"])
def test_parse_level_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="level"):
        parse_level(bad)


@pytest.mark.parametrize(("text", "db"), [("-2dB", -2.0), ("+1.5dB", 1.5), (3, 3.0)])
def test_parse_gain_db(text: object, db: float) -> None:
    assert parse_gain_db(text) == db


@pytest.mark.parametrize("bad", ["-2", "loud", "-61dB", "+25dB", False])
def test_parse_gain_db_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="gain"):
        parse_gain_db(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (750, "12m30s"), (3900, "1h05m"), (3905, "1h05m05s"), (-90, "-1m30s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_clock_and_level() -> None:
    assert format_clock(4805.4) == "1:20:05"
    assert format_clock(-3) == "0:00:00"
    assert format_level(0.405) == "40%"
    assert level_to_db(0.0) == -math.inf


@given(st.integers(min_value=0, max_value=48 * 3600))
def test_format_then_parse_duration_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.floats(min_value=1e-6, max_value=1.0))
def test_level_db_round_trip(level: float) -> None:
    db = level_to_db(level)
    assert db <= 0.0
    assert db_to_level(db) == pytest.approx(level, rel=1e-9)
    assert parse_level(f"{db:.9f}dB") == pytest.approx(level, rel=1e-6, abs=1e-9)


@given(st.integers(min_value=0, max_value=100))
def test_format_level_round_trips_whole_percents(percent: int) -> None:
    assert parse_level(format_level(percent / 100)) == pytest.approx(percent / 100)
