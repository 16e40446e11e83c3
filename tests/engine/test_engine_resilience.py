"""A step of the engine that raises is journaled; the music and the timeline go on."""

import time

from setandsetting.backends.recording import RecordingChimes, RecordingCues, RecordingMusic
from setandsetting.core.controls import parse_control
from setandsetting.engine.conductor import Devices
from setandsetting.engine.engine import Engine
from tests.support.timelines import timeline


class FlakyCues(RecordingCues):
    """A cue backend whose bug raises something other than CueError, twice."""

    def __init__(self, clock):
        super().__init__(clock)
        self.failures = 2

    def send(self, cue):
        if self.failures:
            self.failures -= 1
            raise KeyError("a bug in a backend")
        super().send(cue)


def test_a_raising_step_is_journaled_and_the_session_goes_on():
    tl = timeline(
        {
            "name": "x",
            "defaults": {"crossfade": "0.2s"},
            "phases": [
                {
                    "id": "a",
                    "duration": "1s",
                    "music": "a",
                    "level": "50%",
                    "cues": [
                        {"at": "start", "osc": {"address": "/a"}},
                        {"at": "0.5s", "osc": {"address": "/b"}},
                    ],
                },
                {
                    "id": "b",
                    "duration": "1s",
                    "music": {"slot": "a", "continue": False},  # fades a track in again
                    "level": "50%",
                    "cues": [{"at": "start", "osc": {"address": "/c"}}],
                },
            ],
        },
        {"a": [5.0]},
    )
    t0 = time.monotonic()
    clock = lambda: time.monotonic() - t0  # noqa: E731
    music, cues = RecordingMusic(clock), FlakyCues(clock)
    events = []
    engine = Engine(tl, Devices(music, RecordingChimes(clock), cues))
    engine.subscribe(events.append)
    engine.start()
    time.sleep(0.3)
    assert engine.submit(parse_control("note still here"))[0]["type"] == "note"
    engine.join(10)
    kinds = [e["type"] for e in events]
    errors = [e for e in events if e["type"] == "error"]
    assert [e["source"] for e in errors] == ["cues", "cues"]
    assert "a bug in a backend" in errors[0]["message"]
    # The cue that raised came first at t=0; the track after it still started.
    assert kinds.index("track_started") > kinds.index("error")
    assert kinds.count("phase_started") == 2
    assert kinds[-1] == "session_ended"
    assert [c.args[0]["osc"]["address"] for c in cues.named("send")] == ["/c"]
    assert len(music.named("set_level")) > 20


class BrokenLevels(RecordingMusic):
    """set_level always raises (a bug in a backend); play/stop work."""

    def set_level(self, voice, level, ahead=None):
        raise RuntimeError("volume control broke")


def test_a_device_failing_every_time_is_said_once_and_the_timeline_goes_on():
    tl = timeline(
        {
            "name": "x",
            "defaults": {"crossfade": "0.2s"},
            "phases": [
                {"id": "a", "duration": "0.6s", "music": "a", "level": "50%"},
                {"id": "b", "duration": "0.6s", "music": "a", "level": "30%"},
            ],
        },
        {"a": [5.0]},
    )
    clock = time.monotonic
    events = []
    engine = Engine(tl, Devices(BrokenLevels(clock), RecordingChimes(clock)))
    engine.subscribe(events.append)
    engine.start()
    engine.join(10)
    kinds = [e["type"] for e in events]
    assert kinds.count("phase_started") == 2 and kinds[-1] == "session_ended"
    errors = [e for e in events if e["type"] == "error"]
    # One per device voice that failed, not one per fade step.
    assert 1 <= len(errors) <= 3
    assert all(e["source"] == "music" for e in errors)
