"""Test signals and measurements on captured audio (float (n, 2) arrays in [-1, 1])."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SILENCE_DB = -70.0


def write_tones(
    path: Path, segments: list[tuple[float, float]], amplitude: float = 0.5, rate: int = 44100
) -> Path:
    """Consecutive steady stereo sines, one per (freq, seconds), with 5 ms edges on the
    whole file; the format comes from the suffix (.wav, .flac)."""
    parts = []
    for freq, seconds in segments:
        t = np.arange(round(seconds * rate)) / rate
        parts.append(amplitude * np.sin(2 * np.pi * freq * t))
    tone = np.concatenate(parts)
    edge = min(len(tone) // 2, round(0.005 * rate))
    if edge:
        ramp = np.linspace(0.0, 1.0, edge)
        tone[:edge] *= ramp
        tone[-edge:] *= ramp[::-1]
    sf.write(path, np.column_stack([tone, tone]).astype(np.float32), rate, subtype="PCM_16")
    return path


def write_tone(
    path: Path, freq: float = 500.0, seconds: float = 3.0, amplitude: float = 0.5
) -> Path:
    """A steady stereo sine (500 Hz fits whole periods in 20 ms windows)."""
    return write_tones(path, [(freq, seconds)], amplitude)


def dominant_freq(audio: np.ndarray, rate: int) -> float:
    """The strongest frequency in the signal (Hz)."""
    x = mono(audio).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1.0 / rate)[int(np.argmax(spectrum))])


def mono(audio: np.ndarray) -> np.ndarray:
    return audio.mean(axis=1) if audio.ndim == 2 else audio


def rms_db(audio: np.ndarray) -> float:
    """RMS of the whole signal in dBFS (-inf for digital silence)."""
    x = mono(audio).astype(np.float64)
    if x.size == 0:
        return -np.inf
    power = float(np.mean(x * x))
    return -np.inf if power <= 0 else 10.0 * np.log10(power)


def envelope_db(audio: np.ndarray, rate: int, hop_s: float = 0.02) -> np.ndarray:
    """RMS in dBFS over consecutive windows of `hop_s` (window i covers [i*hop, (i+1)*hop))."""
    x = mono(audio).astype(np.float64)
    hop = max(1, round(hop_s * rate))
    n = len(x) // hop
    power = (x[: n * hop].reshape(n, hop) ** 2).mean(axis=1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(power)


def first_onset(
    audio: np.ndarray, threshold_db: float = -60.0, quiet_s: float = 0.0, rate: int = 44100
) -> int | None:
    """Index of the first sample above `threshold_db` after at least `quiet_s` of quiet."""
    x = np.abs(mono(audio))
    limit = 10.0 ** (threshold_db / 20.0)
    loud = np.flatnonzero(x > limit)
    need = round(quiet_s * rate)
    previous = -1  # the last loud sample seen; the capture's start counts as quiet
    for index in loud.tolist():
        if index - previous - 1 >= need:
            return index
        previous = index
    return None


def silent_gaps(
    audio: np.ndarray,
    rate: int,
    min_ms: float,
    threshold_db: float = SILENCE_DB,
    hop_ms: float = 5.0,
) -> list[tuple[float, float]]:
    """(start_s, length_s) of every stretch quieter than `threshold_db` longer than `min_ms`.

    Measured on `hop_ms` RMS windows, so the resolution is one hop.
    """
    env = envelope_db(audio, rate, hop_ms / 1000.0)
    quiet = env < threshold_db
    gaps: list[tuple[float, float]] = []
    start: int | None = None
    for i, q in enumerate([*quiet.tolist(), False]):
        if q and start is None:
            start = i
        elif not q and start is not None:
            length = (i - start) * hop_ms / 1000.0
            if length * 1000.0 > min_ms:
                gaps.append((start * hop_ms / 1000.0, length))
            start = None
    return gaps


def align_to_onset(audio: np.ndarray, threshold_db: float = -60.0) -> np.ndarray:
    """The capture from its first onset on (empty if nothing was heard)."""
    onset = first_onset(audio, threshold_db)
    return audio[onset:] if onset is not None else audio[:0]


def match_onsets(planned: list[float], found: list[float]) -> list[float | None]:
    """For each planned chime, the onset heard within 100 ms of it (relative to the first
    onset), or None: a lost or split chime must not shift every later one."""
    if not found:
        return [None] * len(planned)
    out: list[float | None] = []
    for p in planned:
        want = found[0] + p - planned[0]
        near = min(found, key=lambda f: abs(f - want))
        out.append(near if abs(near - want) < 0.1 else None)
    return out
