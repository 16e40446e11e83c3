import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from setandsetting.core.curves import SHAPES, envelope, glide, ramp
from setandsetting.core.profile import FromTo, Points


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_starts_at_0_and_ends_at_1(shape):
    assert SHAPES[shape](0.0) == 0.0
    assert SHAPES[shape](1.0) == 1.0


@pytest.mark.parametrize("shape", ["linear", "s-curve", "exponential", "logarithmic"])
@given(a=st.floats(0, 1), b=st.floats(0, 1))
def test_shapes_are_monotone(shape, a, b):
    lo, hi = sorted((a, b))
    assert SHAPES[shape](lo) <= SHAPES[shape](hi) + 1e-12


def test_shape_values_at_the_middle():
    assert ramp("linear", 0.2, 0.6, 0.5) == pytest.approx(0.4)
    assert ramp("s-curve", 0.0, 1.0, 0.25) == pytest.approx(0.15625)
    assert ramp("exponential", 0.0, 1.0, 0.5) == pytest.approx(
        (math.exp(2) - 1) / (math.exp(4) - 1)
    )
    assert ramp("logarithmic", 0.0, 1.0, 0.5) == pytest.approx(
        1 - (math.exp(2) - 1) / (math.exp(4) - 1)
    )


def test_ramp_clamps_progress():
    assert ramp("linear", 0.3, 0.5, -1) == 0.3
    assert ramp("linear", 0.3, 0.5, 7) == 0.5


def test_constant_envelope():
    env = envelope(0.35, 600.0, 0.4)
    assert env.at(0) == env.at(300) == env.at(10_000) == 0.35
    assert env.steady_after(0)


def test_missing_level_uses_the_default():
    assert envelope(None, 60.0, 0.4).at(30) == 0.4


def test_from_to_spans_the_phase():
    env = envelope(FromTo.model_validate({"from": "35%", "to": "50%"}), 300.0, 0.4)
    assert env.at(0) == pytest.approx(0.35)
    assert env.at(150) == pytest.approx(0.425)
    assert env.at(300) == pytest.approx(0.5)
    assert not env.steady_after(100)
    assert env.steady_after(300)


def test_from_to_with_over_then_holds():
    env = envelope(FromTo.model_validate({"from": "10%", "to": "30%", "over": "1m"}), None, 0.4)
    assert env.at(30) == pytest.approx(0.2)
    assert env.at(3600) == pytest.approx(0.3)


def test_points_with_end():
    spec = Points.model_validate({"points": [[0, "65%"], ["25m", "70%"], ["end", "60%"]]})
    env = envelope(spec, 1800.0, 0.4)
    assert env.at(0) == pytest.approx(0.65)
    assert env.at(750) == pytest.approx(0.675)
    assert env.at(1500) == pytest.approx(0.70)
    assert env.at(1650) == pytest.approx(0.65)
    assert env.at(1800) == pytest.approx(0.60)


def test_hold_glides_into_each_step_instead_of_jumping():
    spec = Points.model_validate({"points": [[0, "30%"], ["20s", "25%"]], "shape": "hold"})
    env = envelope(spec, None, 0.4)
    assert env.at(17.9) == pytest.approx(0.30)
    assert 0.25 < env.at(19.0) < 0.30
    assert env.at(20.0) == pytest.approx(0.25)
    # No step larger than the slope of a 2 s glide between samples 10 ms apart.
    steps = [abs(env.at(18 + i / 100) - env.at(18 + (i + 1) / 100)) for i in range(200)]
    assert max(steps) < 0.05 * 0.01 / 2 * 1.6


def test_glide_is_continuous_and_lands():
    assert glide(0.2, 0.6, 10.0, 2.0, 10.0) == pytest.approx(0.2)
    assert glide(0.2, 0.6, 10.0, 2.0, 11.0) == pytest.approx(0.4)
    assert glide(0.2, 0.6, 10.0, 2.0, 12.0) == 0.6
