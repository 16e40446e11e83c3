"""Loudness: known levels measure right, the cache hits and misses by mtime/size, bad
files become error values, and the gain is bounded."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile

from setandsetting.audio import loudness
from setandsetting.audio.loudness import (
    LoudnessCache,
    LoudnessError,
    TrackLoudness,
    gain_to_target,
    integrated_loudness,
    measure,
)

RATE = 44100


def tone(amplitude: float, seconds: float, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    s = amplitude * np.sin(2 * np.pi * hz * t)
    return np.stack([s, s], axis=1).astype(np.float32)


def write(path: Path, samples: np.ndarray) -> Path:
    soundfile.write(path, samples, RATE, subtype="PCM_24")
    return path


@pytest.mark.parametrize("dbfs", [-12.0, -20.0, -30.0])
def test_a_stereo_1khz_tone_reads_its_level_in_lufs(tmp_path: Path, dbfs: float) -> None:
    # BS.1770: a 1 kHz sine in both channels at amplitude A reads 20*log10(A) LUFS.
    result = measure(write(tmp_path / "t.flac", tone(10 ** (dbfs / 20), 5.0)))
    assert isinstance(result, TrackLoudness)
    assert result.lufs == pytest.approx(dbfs, abs=0.5)
    assert result.peak_db == pytest.approx(dbfs, abs=0.01)
    assert result.duration_s == 5.0


def test_block_reading_matches_pyloudnorm_on_gated_material(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((RATE * 9, 2)) * 0.05).astype(np.float32)
    x[: RATE * 3] *= 0.003  # a quiet intro the gates must drop
    path = tmp_path / "n.wav"
    soundfile.write(path, x, RATE, subtype="FLOAT")
    expected = pyloudnorm.Meter(RATE).integrated_loudness(x.astype(np.float64))
    monkeypatch.setattr(loudness, "_READ_FRAMES", 10007)  # blocks not aligned to 100 ms
    result = measure(path)
    assert isinstance(result, TrackLoudness)
    assert result.lufs == pytest.approx(expected, abs=0.01)
    assert integrated_loudness(x, RATE) == pytest.approx(expected, abs=0.01)


def test_silence_is_minus_infinity_and_gets_no_gain(tmp_path: Path) -> None:
    result = measure(write(tmp_path / "s.wav", np.zeros((RATE, 2), np.float32)))
    assert isinstance(result, TrackLoudness)
    assert result.lufs == -math.inf and result.peak_db == -math.inf
    assert gain_to_target(result.lufs, -23.0) == 0.0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("corrupt.flac", b"fLaC but not really" * 50, "error in flac decoder"),
        ("notes.flac", b"shopping list" * 50, "Format not recognised"),
        ("missing.flac", None, "No such file or directory"),
        ("short.wav", "short", "too short to measure"),
    ],
)
def test_unreadable_files_are_error_values(
    tmp_path: Path, name: str, content: bytes | str | None, message: str
) -> None:
    path = tmp_path / name
    if content == "short":
        write(path, tone(0.1, 0.2))
    elif isinstance(content, bytes):
        path.write_bytes(content)
    result = measure(path)
    assert result == LoudnessError(path, result.message)
    assert message in result.message


def test_cache_hits_while_unchanged_and_misses_after_a_change(tmp_path: Path) -> None:
    track = write(tmp_path / "t.flac", tone(0.1, 3.0))
    cache_dir = tmp_path / ".cache"
    first = LoudnessCache(cache_dir).measure_all([track])[track]
    assert isinstance(first, TrackLoudness)
    assert (cache_dir / "loudness.json").is_file()

    # Same size and mtime but different bytes: a fresh cache object must not re-read it.
    st = track.stat()
    original = track.read_bytes()
    track.write_bytes(b"x" * len(original))
    os.utime(track, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert LoudnessCache(cache_dir).measure(track) == first

    # A newer mtime is a miss: the (now corrupt) file is measured again.
    os.utime(track, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert isinstance(LoudnessCache(cache_dir).measure(track), LoudnessError)

    # And a changed file measures anew.
    write(track, tone(0.01, 3.0))
    again = LoudnessCache(cache_dir).measure(track)
    assert isinstance(again, TrackLoudness)
    assert again.lufs == pytest.approx(first.lufs - 20.0, abs=0.1)


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    track = write(tmp_path / "t.flac", tone(0.1, 1.0))
    (tmp_path / "loudness.json").write_text("{not json")
    cache = LoudnessCache(tmp_path)
    assert isinstance(cache.measure(track), TrackLoudness)
    cache.save()
    assert str(track.resolve()) in (tmp_path / "loudness.json").read_text()


def test_gain_cuts_freely_and_boosts_within_bounds() -> None:
    assert gain_to_target(-16.0, -23.0) == -7.0
    assert gain_to_target(-27.0, -23.0) == 4.0
    assert gain_to_target(-45.0, -23.0) == 12.0
    assert gain_to_target(-45.0, -23.0, max_gain_db=6.0) == 6.0
    # A boost stops where the peak would reach -1 dBFS.
    assert gain_to_target(-30.0, -23.0, peak_db=-4.0) == 3.0
    assert gain_to_target(-30.0, -23.0, peak_db=0.0) == 0.0
