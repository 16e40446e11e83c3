"""The built-in chimes, synthesized with numpy: a singing bowl, a soft bell, a wood block.

Synthesized rather than shipped as files so the package carries no audio assets and every
room hears exactly the same sounds. All are 44100 Hz stereo float32, start and end on
exact zeros behind raised-cosine fades (no clicks in a quiet room), and are normalised to
the same sample peak, PEAK_DBFS, so a chime `level` means the same for every sound.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RATE = 44100
PEAK_DBFS = -1.0
PEAK = 10.0 ** (PEAK_DBFS / 20.0)
_BLOCK = 1024  # samples per block of _exp_series


@dataclass(frozen=True, slots=True)
class _Partial:
    """One mode of the struck object: frequency ratio, amplitude, decay time, beat rate."""

    ratio: float
    amp: float
    decay_s: float  # time constant of the exponential decay
    beat_hz: float = 0.0  # a slightly detuned twin: the slow "wah" of a real bowl


@dataclass(frozen=True, slots=True)
class _Voice:
    fundamental_hz: float
    length_s: float
    attack_s: float
    release_s: float
    partials: Sequence[_Partial]


# Singing bowl modes are inharmonic (roughly 1 : 2.7 : 5.2 : 8.4 for a thin bowl); each
# mode is split in two by the bowl's asymmetry, which is what makes it beat slowly.
_VOICES: dict[str, _Voice] = {
    "bowl": _Voice(
        fundamental_hz=216.0,
        length_s=6.0,
        attack_s=0.015,
        release_s=0.4,
        partials=(
            _Partial(1.0, 1.0, 2.2, 0.7),
            _Partial(2.71, 0.55, 1.5, 1.3),
            _Partial(5.18, 0.22, 0.9, 2.1),
            _Partial(8.43, 0.08, 0.5, 2.9),
        ),
    ),
    # A soft bell: hum note an octave down, a minor third and a fifth, no harsh strike.
    "bell": _Voice(
        fundamental_hz=523.25,
        length_s=3.5,
        attack_s=0.012,
        release_s=0.3,
        partials=(
            _Partial(0.5, 0.45, 1.4, 0.4),
            _Partial(1.0, 1.0, 1.0, 0.9),
            _Partial(1.19, 0.35, 0.7),
            _Partial(1.5, 0.3, 0.6),
            _Partial(2.0, 0.18, 0.45, 1.6),
            _Partial(2.51, 0.08, 0.3),
        ),
    ),
    # A wood block: a few damped modes, gone within a quarter second.
    "wood": _Voice(
        fundamental_hz=620.0,
        length_s=0.4,
        attack_s=0.003,
        release_s=0.05,
        partials=(
            _Partial(1.0, 1.0, 0.06),
            _Partial(1.58, 0.5, 0.04),
            _Partial(2.74, 0.25, 0.025),
        ),
    ),
}

BUILTIN_SOUNDS: tuple[str, ...] = tuple(_VOICES)


def raised_cosine(n: int) -> np.ndarray:
    """A fade curve from exactly 0 to 1 over `n` samples with zero slope at both ends."""
    return (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))).astype(np.float32)


def length_s(name: str) -> float:
    """How long the built-in sound `name` lasts, without synthesizing it."""
    return round(_voice(name).length_s * RATE) / RATE


@functools.cache
def synthesize(name: str) -> np.ndarray:
    """The built-in sound `name` as (frames, 2) float32 at RATE, peak at PEAK_DBFS.

    Deterministic: no randomness, so the same name always gives the same samples. Made
    once per process and read-only (every caller shares it).
    """
    voice = _voice(name)
    n = round(voice.length_s * RATE)
    left = np.zeros(n)
    right = np.zeros(n)
    shift = np.exp(0.3j)  # the right channel's phase offset
    for p in voice.partials:
        # env * e^(i*phase) of the partial: decay and oscillation in one complex rate
        f = voice.fundamental_hz * p.ratio
        wave = p.amp * _exp_series(complex(-1.0 / (p.decay_s * RATE), 2.0 * np.pi * f / RATE), n)
        shifted = (wave * shift).imag
        if p.beat_hz:
            # Two modes beat_hz apart; left and right hear the beating a quarter cycle
            # apart, which gives the bowl its slow, wide shimmer.
            beat = _exp_series(complex(0.0, 2.0 * np.pi * p.beat_hz / RATE), n)
            left += wave.imag * (0.75 + 0.25 * beat.real)
            right += shifted * (0.75 + 0.25 * beat.imag)
        else:
            left += wave.imag
            right += shifted
    out = np.stack([left, right], axis=1)
    attack = round(voice.attack_s * RATE)
    release = round(voice.release_s * RATE)
    out[:attack] *= raised_cosine(attack)[:, None]
    out[n - release :] *= raised_cosine(release)[::-1, None]
    out *= PEAK / np.max(np.abs(out))
    samples = out.astype(np.float32)
    samples.flags.writeable = False
    return samples


def _voice(name: str) -> _Voice:
    try:
        return _VOICES[name]
    except KeyError:
        known = ", ".join(BUILTIN_SOUNDS)
        raise ValueError(f"{name!r} is not a built-in sound; choose one of {known}") from None


def _exp_series(rate: complex, n: int) -> np.ndarray:
    """exp(rate * k) for k = 0..n-1: the outer product of the blocks' first values and one
    block's steps, so a sample costs a multiply rather than a sin and an exp (a chime is
    made in milliseconds, not a tenth of a second, at every session start)."""
    blocks = -(-n // _BLOCK)
    starts = np.exp(rate * _BLOCK * np.arange(blocks))
    steps = np.exp(rate * np.arange(_BLOCK))
    return np.outer(starts, steps).ravel()[:n]
