"""The built-in chimes: length, clean edges, one shared peak level, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from setandsetting.audio.synth import BUILTIN_SOUNDS, PEAK_DBFS, RATE, synthesize

LENGTHS_S = {"bowl": 6.0, "bell": 3.5, "wood": 0.4}


def test_the_builtin_names_are_the_documented_ones() -> None:
    assert set(BUILTIN_SOUNDS) == {"bowl", "bell", "wood"}


@pytest.mark.parametrize("name", BUILTIN_SOUNDS)
def test_shape_and_format(name: str) -> None:
    x = synthesize(name)
    assert x.dtype == np.float32
    assert x.shape == (round(LENGTHS_S[name] * RATE), 2)


@pytest.mark.parametrize("name", BUILTIN_SOUNDS)
def test_peak_is_the_shared_level(name: str) -> None:
    peak_db = 20 * np.log10(np.max(np.abs(synthesize(name))))
    assert peak_db == pytest.approx(PEAK_DBFS, abs=0.01)


@pytest.mark.parametrize("name", BUILTIN_SOUNDS)
def test_no_clicks_at_the_edges(name: str) -> None:
    x = synthesize(name)
    assert np.all(x[0] == 0.0) and np.all(x[-1] == 0.0)
    jumps = np.abs(np.diff(x, axis=0))
    # A click is a step far above what the fade allows: within the first millisecond the
    # raised-cosine attack keeps steps small, and the last 10 ms are nearly silent.
    assert jumps[: RATE // 1000].max() < 0.02
    assert jumps[-RATE // 100 :].max() < 1e-4


@pytest.mark.parametrize("name", BUILTIN_SOUNDS)
def test_deterministic(name: str) -> None:
    assert np.array_equal(synthesize(name), synthesize(name))


def test_bowl_rings_for_seconds_and_bell_outlasts_wood() -> None:
    def ringing_s(name: str) -> float:
        x = np.abs(synthesize(name)).max(axis=1)
        return float(np.nonzero(x > 10 ** (-40 / 20))[0][-1]) / RATE

    assert ringing_s("bowl") > 5.0
    assert 2.0 < ringing_s("bell") < 3.5
    assert ringing_s("wood") < 0.4


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a built-in sound; choose one of bowl, bell, wood"):
        synthesize("gong")
