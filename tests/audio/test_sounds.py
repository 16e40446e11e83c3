"""sound_length: built-in sounds by name, files from their header, unreadable ones 0 s."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from setandsetting.audio.sounds import sound_length
from setandsetting.audio.synth import BUILTIN_SOUNDS, RATE, synthesize


@pytest.mark.parametrize("name", sorted(BUILTIN_SOUNDS))
def test_a_built_in_sound_lasts_as_long_as_its_samples(name: str) -> None:
    assert sound_length(name) == len(synthesize(name)) / RATE


def test_a_file_is_measured_from_its_header_relative_to_base(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "knock.wav", np.zeros(12000), 16000)
    assert sound_length("knock.wav", tmp_path) == 0.75
    assert sound_length(tmp_path / "knock.wav") == 0.75


def test_a_sound_that_cannot_be_read_lasts_nothing(tmp_path: Path) -> None:
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really")
    assert sound_length("broken.wav", tmp_path) == 0.0
    assert sound_length("gone.wav", tmp_path) == 0.0
