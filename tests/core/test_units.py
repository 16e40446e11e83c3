"""Durations and levels as users write them, and the level <-> dB mapping."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from setandsetting.core.units import (
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


def test_parse_duration_rejects_infinity() -> None:
    with pytest.raises(ValueError, match="finite"):
        parse_duration(math.inf)


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
