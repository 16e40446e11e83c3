"""Pure level curves: shapes f(u) on [0, 1] and phase envelopes level(tau).

Kept apart from dB math (units.py), as in Linux Show Player's fade functions. Time here is
phase-local and already warped by the session (session/levels.py); nothing here reads a clock.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from setandsetting.core.profile import FromTo, LevelSpec, Points

ShapeFn = Callable[[float], float]

_EXP_K = 4.0  # curvature of the exponential / logarithmic shapes
HOLD_GLIDE_S = 2.0  # a `hold` step still glides, so the level never jumps


def linear(u: float) -> float:
    return u


def s_curve(u: float) -> float:
    """Smoothstep: zero slope at both ends, so a ramp starts and lands without a kink."""
    return u * u * (3.0 - 2.0 * u)


def exponential(u: float) -> float:
    """Slow start, fast finish."""
    return (math.exp(_EXP_K * u) - 1.0) / (math.exp(_EXP_K) - 1.0)


def logarithmic(u: float) -> float:
    """Fast start, slow finish (the mirror of exponential)."""
    return 1.0 - exponential(1.0 - u)


SHAPES: dict[str, ShapeFn] = {
    "linear": linear,
    "s-curve": s_curve,
    "exponential": exponential,
    "logarithmic": logarithmic,
    "hold": lambda u: 0.0 if u < 1.0 else 1.0,  # Envelope glides into each step
}


def ramp(shape: str, start: float, end: float, u: float) -> float:
    """Value between start and end at progress u (clamped to [0, 1])."""
    u = 0.0 if u <= 0.0 else 1.0 if u >= 1.0 else u
    return start + (end - start) * SHAPES[shape](u)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A piecewise curve over phase-local time: breakpoints (tau, level) and one shape."""

    times: tuple[float, ...]
    levels: tuple[float, ...]
    shape: str = "linear"

    def at(self, tau: float) -> float:
        i = bisect_right(self.times, tau)
        if i == 0:
            return self.levels[0]
        if i >= len(self.times):
            return self.levels[-1]
        t0, t1 = self.times[i - 1], self.times[i]
        if self.shape == "hold":
            t0 = max(t0, t1 - HOLD_GLIDE_S)
            return ramp("s-curve", self.levels[i - 1], self.levels[i], (tau - t0) / (t1 - t0))
        return ramp(self.shape, self.levels[i - 1], self.levels[i], (tau - t0) / (t1 - t0))

    def steady_after(self, tau: float) -> bool:
        """True when the level no longer changes after tau (the fade loop may rest)."""
        i = max(0, bisect_right(self.times, tau) - 1)
        return len(set(self.levels[i:])) == 1


def envelope(spec: LevelSpec | None, duration: float | None, default: float) -> Envelope:
    """A phase's level spec as an envelope over [0, duration] (duration None = open)."""
    if spec is None:
        return Envelope((0.0,), (default,))
    if isinstance(spec, float):
        return Envelope((0.0,), (spec,))
    if isinstance(spec, FromTo):
        span = spec.over if spec.over is not None else duration
        if not span:
            return Envelope((0.0,), (spec.to,))
        return Envelope((0.0, span), (spec.from_, spec.to), spec.shape)
    assert isinstance(spec, Points)
    times: list[float] = []
    levels: list[float] = []
    for at, level in spec.points:
        tau = (duration or 0.0) if at == "end" else float(at)
        if times and tau <= times[-1]:
            # Two points at one moment: the later one wins from there on.
            times[-1], levels[-1] = max(tau, times[-1]), level
            continue
        times.append(tau)
        levels.append(level)
    return Envelope(tuple(times), tuple(levels), spec.shape)


def glide(start: float, end: float, t0: float, seconds: float, t: float) -> float:
    """A short s-curve glide from start to end beginning at t0 (slew for manual changes)."""
    if seconds <= 0 or t >= t0 + seconds:
        return end
    return ramp("s-curve", start, end, (t - t0) / seconds)
