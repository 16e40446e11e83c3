"""Fine gain: a level as libVLC's integer volume and the equalizer's preamp trim."""

from __future__ import annotations

import itertools
import math

import pytest

from setandsetting.backends.vlc_gain import (
    PREAMP_MIN_DB,
    TRIM_FLOOR_DB,
    UNITY_PREAMP_DB,
    fine_gain,
)


def played(volume: int, preamp_db: float) -> float:
    """The level a volume and a preamp play together: (v/100) x the trim on the level
    scale (a flat equalizer passes its input x 10^((preamp - 12.04 dB)/20))."""
    return volume / 100 * 10 ** ((preamp_db - UNITY_PREAMP_DB) / 60)


def test_the_trim_alone_follows_the_level_down_to_its_floor():
    assert round(UNITY_PREAMP_DB, 4) == 12.0412
    assert round(TRIM_FLOOR_DB, 4) == -32.0412
    assert fine_gain(1.0) == (100, UNITY_PREAMP_DB)
    assert fine_gain(0.5) == (100, pytest.approx(UNITY_PREAMP_DB - 18.1))  # -18.06 dB, down
    assert fine_gain(0.3) == (100, pytest.approx(UNITY_PREAMP_DB - 31.4))  # -31.37 dB
    assert fine_gain(1.5) == (100, UNITY_PREAMP_DB)  # never above full scale


def test_below_the_floor_the_volume_steps_with_the_trim_at_its_floor():
    assert fine_gain(0.29) == (99, PREAMP_MIN_DB)
    assert fine_gain(0.2154) == (73, PREAMP_MIN_DB)  # -40 dB
    assert fine_gain(0.01) == (3, PREAMP_MIN_DB)
    assert fine_gain(0.0) == (0, PREAMP_MIN_DB)


def test_what_plays_is_never_louder_than_asked_and_within_a_step():
    for k in range(1, 1001):
        level = k / 1000
        heard = played(*fine_gain(level))
        assert heard <= level * (1 + 1e-12)
        if level >= 0.2154:  # above -40 dB: a tenth of a dB, or one volume step at 74 %+
            assert 60 * math.log10(level / heard) <= 0.36, level


def test_consecutive_levels_above_minus_40_db_never_step_by_more_than_036_db():
    levels = [0.2154 * (1 / 0.2154) ** (k / 5000) for k in range(5001)]
    heard = [60 * math.log10(played(*fine_gain(level))) for level in levels]
    steps = [abs(b - a) for a, b in itertools.pairwise(heard)]
    assert max(steps) <= 0.36
