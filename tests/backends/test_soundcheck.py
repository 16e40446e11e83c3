"""The test tone's measure and the outputs it is played through (the real runs: test_sound)."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
import pytest

from setandsetting.backends.soundcheck import (
    RATE,
    TONE_HZ,
    TONE_S,
    Finding,
    check,
    configured,
    tone_level_db,
    write_tone,
)
from setandsetting.core.room import AudioSettings


def sine(freq: float, amplitude: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    x = amplitude * np.sin(2 * np.pi * freq * t)
    return np.column_stack([x, x])


def test_the_tone_is_read_at_its_own_frequency_in_dbfs() -> None:
    at_sink = 0.5 * 0.5**3  # the tone's amplitude at level 50 %
    assert tone_level_db(sine(TONE_HZ, at_sink)) == pytest.approx(-27.09, abs=0.05)
    other = sine(TONE_HZ * 1.5, 0.5)  # loud music elsewhere in the spectrum
    assert tone_level_db(other) < -60.0
    assert tone_level_db(np.zeros((RATE, 2))) == -math.inf
    assert tone_level_db(np.zeros((10, 2))) == -math.inf  # shorter than a window


def test_the_tone_file_is_the_tone(tmp_path: Path) -> None:
    with wave.open(str(write_tone(tmp_path / "t.wav"))) as f:
        assert (f.getnchannels(), f.getframerate(), f.getnframes()) == (2, RATE, TONE_S * RATE)
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").reshape(-1, 2) / 32768
    assert pcm[0].tolist() == [0.0, 0.0]  # edges fade: no click
    assert tone_level_db(pcm) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.05)


def test_the_outputs_are_those_room_yaml_configures() -> None:
    plain = AudioSettings()
    assert configured(plain) == {"music": "default", "patient_chimes": "default"}
    staffed = AudioSettings(staff_chimes="USB Speaker", music_output="hdmi")
    assert configured(staffed) == {
        "music": "hdmi",
        "patient_chimes": "default",
        "staff_chimes": "USB Speaker",
    }
    assert configured(staffed, "staff_chimes") == {"staff_chimes": "USB Speaker"}
    with pytest.raises(ValueError, match=r"^room.yaml names no staff_chimes output \(config"):
        configured(plain, "staff_chimes")
    with pytest.raises(ValueError, match=r"^no output 'lights': one of music, patient_chimes$"):
        configured(plain, "lights")


def test_a_sound_check_that_hangs_says_so_for_every_output() -> None:
    found = check({"music": "default", "patient_chimes": "default"}, timeout=0.01)
    assert [f.line() for f in found] == [
        "music: missing — the sound system did not answer within 0.01 s",
        "patient_chimes: missing — the sound system did not answer within 0.01 s",
    ]
    assert found[0] == Finding(
        "music", "default", "missing", None, "the sound system did not answer within 0.01 s"
    )
