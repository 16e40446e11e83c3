"""After the sound server restarts, SDL plays into nothing until the mixer is opened again."""

import time

import pytest

from setandsetting.backends.base import BackendReport
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


def test_the_conductor_reopens_the_chimes_when_the_music_device_comes_back():
    clock = lambda: 0.0  # noqa: E731
    chimes = RecordingChimes(clock)
    events = []
    conductor = Conductor(
        timeline({"name": "x", "phases": [{"id": "a", "duration": "1m"}]}),
        Devices(RecordingMusic(clock), chimes),
        events.append,
    )
    conductor.start(0.0)
    conductor.report(BackendReport("music", "device_back", message="output back"), 1.0)
    assert [c.method for c in chimes.calls if c.method != "prepare"] == ["reopen"]
    assert events[-1].type == "device_back"
