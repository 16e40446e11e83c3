"""The preflight's device probe, against a real PulseAudio server (and against none)."""

from __future__ import annotations

import pytest

from setandsetting.backends.probe import audio_findings, probe
from setandsetting.core.room import AudioSettings
from tests.support.pulse import PIPE_SINK, PulseCapture, pulse

__all__ = ["pulse"]  # the fixture is used by name


@pytest.mark.audio
def test_the_probe_finds_the_outputs_the_room_names_and_misses_the_others(
    pulse: PulseCapture,
) -> None:
    found = probe()
    assert found["sdl"]["default_opens"] is True
    assert any("FIFO" in name for name in found["sdl"]["names"]), found
    assert PIPE_SINK in [d["id"] for d in found["vlc"]["devices"]], found
    audio = AudioSettings(
        music_output=PIPE_SINK, patient_chimes="default", staff_chimes="USB Speaker"
    )
    report = audio_findings(audio, found)
    assert report["outputs"] == {
        "music_output": {"wanted": PIPE_SINK, "found": True},
        "patient_chimes": {"wanted": "default", "found": True},
        "staff_chimes": {"wanted": "USB Speaker", "found": False},
    }
    assert report["errors"] == []


def test_without_a_sound_system_the_chime_output_is_not_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")
    report = audio_findings(AudioSettings(), probe())
    assert report["outputs"]["patient_chimes"] == {"wanted": "default", "found": False}
    assert any("no-such-driver" in e or "not available" in e for e in report["errors"]), report


def test_a_probe_that_hangs_is_reported_not_waited_for() -> None:
    report = audio_findings(AudioSettings(), probe(timeout=0.001))
    assert report["outputs"]["patient_chimes"]["found"] is False
    assert report["errors"] == ["the sound system did not answer within 0.001 s"]
