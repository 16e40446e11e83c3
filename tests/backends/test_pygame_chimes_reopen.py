"""After the sound server restarts, SDL plays into nothing until the mixer is opened again."""

import time

import pytest

from setandsetting.backends.base import audio_report
from setandsetting.backends.pygame_chimes import PygameChimes
from setandsetting.backends.recording import RecordingChimes, RecordingMusic
from setandsetting.engine.conductor import Conductor, Devices
from tests.support.audio_analysis import rms_db
from tests.support.pulse import PulseCapture, pulse
from tests.support.timelines import timeline

__all__ = ["pulse"]  # the fixture is used by name


def _chime(capture: PulseCapture, chimes: PygameChimes) -> float:
    capture.start_recording()
    chimes.play("wood", 0.8, "patient")
    time.sleep(0.7)
    return rms_db(capture.stop_recording())


@pytest.mark.audio
def test_chimes_come_back_after_the_sound_server_restarts(pulse: PulseCapture) -> None:
    reports = []
    chimes = PygameChimes(reports.append)
    try:
        assert _chime(pulse, chimes) > -40
        pulse.restart()
        time.sleep(0.3)
        assert _chime(pulse, chimes) == float("-inf")  # the failure this guards against
        chimes.reopen()
        assert _chime(pulse, chimes) > -40
        assert reports == []
    finally:
        chimes.close()


def test_the_conductor_reopens_the_chimes_when_the_music_or_the_server_comes_back():
    clock = lambda: 0.0  # noqa: E731
    chimes = RecordingChimes(clock)
    events = []
    conductor = Conductor(
        timeline({"name": "x", "phases": [{"id": "a", "duration": "1m"}]}),
        Devices(RecordingMusic(clock), chimes),
        events.append,
    )
    conductor.start(0.0)

    def reopened() -> int:
        return len(chimes.named("reopen"))

    conductor.report(audio_report("music", "music", "libvlc", "output gone", restored=False), 1.0)
    conductor.report(audio_report("music", "music", "libvlc", "output back", restored=True), 2.0)
    assert reopened() == 1
    assert [(e.type, e.data) for e in events[-2:]] == [
        ("audio_fault", {"output": "music", "why": "output gone"}),
        ("audio_restored", {"output": "music", "why": "output back"}),
    ]
    back = audio_report("chimes", "patient_chimes", "pulse", "server back", restored=True)
    conductor.report(back, 3.0)
    assert reopened() == 2  # the sound server back: SDL still points at the old one
    own = audio_report("chimes", "patient_chimes", "sdl", "device opens", restored=True)
    conductor.report(own, 4.0)
    assert reopened() == 2  # the mixer's own word: it has just opened
