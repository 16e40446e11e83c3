"""The conductor on a simulated clock: device calls match the session's plan exactly.

Recording devices write down every call; the clock is a number the test moves. So each
expectation is exact: which player a track goes to, the level every sounding voice is set
to at t, no call while nothing moves, the cap, the fade after the end, device faults.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from setandsetting.backends.base import BackendReport, CueError, audio_report
from setandsetting.backends.recording import RecordingChimes, RecordingCues, RecordingMusic
from setandsetting.core import session
from setandsetting.core.controls import Control, parse_control
from setandsetting.core.events import Event
from setandsetting.engine.conductor import (
    CHIME_AHEAD_S,
    END_FADE_S,
    FADE_HZ,
    LEVEL_EPSILON,
    Conductor,
    Devices,
)
from tests.support.timelines import timeline


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class RaisingChimes(RecordingChimes):
    def play(self, sound: Any, level: float, audience: str) -> None:
        raise RuntimeError("no chime device")


class FlakyCues(RecordingCues):
    """A cue device that is unplugged while `down`."""

    down = False

    def send(self, cue: dict[str, Any]) -> None:
        if self.down:
            raise CueError("MIDI output 'lights' is not connected")
        super().send(cue)


class Rig:
    def __init__(
        self,
        prof: dict[str, Any],
        slots: dict[str, list[float]],
        chimes: type[RecordingChimes] = RecordingChimes,
        level_steps: int | None = None,
        cues: type[RecordingCues] = RecordingCues,
        music: type[RecordingMusic] = RecordingMusic,
    ) -> None:
        self.clock = Clock()
        self.music = music(self.clock, level_steps)
        self.chimes = chimes(self.clock)
        self.cues = cues(self.clock)
        self.events: list[Event] = []
        self.wakes: list[float] = []
        devices = Devices(self.music, self.chimes, self.cues)
        self.conductor = Conductor(timeline(prof, slots), devices, self.events.append)
        self.conductor.start(0.0)

    def run(self, until: float, hz: float = 30.0) -> None:
        """Tick like the engine's fade loop, from the clock's time to `until`."""
        for t in np.arange(self.clock.t + 1 / hz, until + 1e-9, 1 / hz):
            self.at(float(t))

    def grid(self, until: float) -> None:
        """Tick at every fade step (the FADE_HZ grid) from the clock's time to `until`."""
        k = int(self.clock.t * FADE_HZ) + 1
        while k / FADE_HZ <= until:
            self.at(k / FADE_HZ)
            k += 1

    def woken(self, until: float, upkeep_s: float = 1.0) -> None:
        """Tick as the engine does: at each planned moment (its scheduler's), at the fade
        steps the conductor asks for, and once a second."""
        upkeep = self.clock.t + upkeep_s
        while True:
            planned = self.planned_moment()
            t = self.conductor.next_wake(self.clock.t, min(upkeep, until, planned))
            if t >= until:
                return
            assert t > self.clock.t or t == planned, "no progress"
            self.wakes.append(t)
            self.at(t)
            if t >= upkeep:
                upkeep = t + upkeep_s

    def planned_moment(self) -> float:
        """The next moment the engine's scheduler would fire (inf: none)."""
        moments = (self.conductor.next_moment(), self.conductor.chimes_ready_at())
        return min((m for m in moments if m is not None), default=math.inf)

    def at(self, t: float) -> None:
        self.clock.t = t
        self.conductor.tick(t)

    def control(self, text: str) -> list[Event]:
        return self.conductor.control(parse_control(text), self.clock.t)

    def planned(self) -> dict[int, float]:
        """Device voice -> the session's level for it now."""
        state = self.conductor.state
        assert state is not None
        return {
            self.conductor._slot_of[v.id]: session.voice_level(state, v, self.clock.t)
            for v in session.voices(state)
        }

    def types(self) -> list[str]:
        return [e.type for e in self.events]


def profile(*phases: dict[str, Any], max_level: str = "80%") -> dict[str, Any]:
    return {
        "name": "conductor test",
        "defaults": {"crossfade": "2s"},
        "limits": {"max_level": max_level},
        "phases": list(phases),
    }


PHASE = {"id": "a", "duration": "60s", "music": "a", "level": {"from": "30%", "to": "60%"}}


def test_every_sounding_voice_follows_the_session_level_through_a_crossfade() -> None:
    rig = Rig(profile(PHASE), {"a": [6.0, 100.0]})
    assert rig.music.named("play")[0].args == (0, "/music/a-0.flac", 0.0, 6.0)
    for t in np.arange(0.05, 8.0, 1 / 30):
        rig.at(float(t))
        for slot, level in rig.planned().items():
            assert rig.music.levels[slot] == pytest.approx(level, abs=LEVEL_EPSILON)
    # The second track came in on the other player at a's end minus the crossfade...
    play = rig.music.named("play")[1]
    assert play.args == (1, "/music/a-1.flac", 0.0, 100.0)
    assert play.t == pytest.approx(4.0, abs=1 / 30)
    # ...and the first player stopped once its fade had ended (at 6 s), not before.
    stop = rig.music.named("stop")
    assert [c.args for c in stop] == [(0,)]
    assert 6.0 <= stop[0].t < 6.0 + 1 / 15


def test_a_new_track_starts_silent_and_only_rises() -> None:
    rig = Rig(profile(PHASE), {"a": [6.0, 100.0]})
    rig.run(6.0)
    for slot in (0, 1):
        started = next(c.t for c in rig.music.named("play") if c.args[0] == slot)
        rising = [c.args[1] for c in rig.music.named("set_level") if c.args[0] == slot]
        assert rising[0] <= 0.3 * (1 / 30) / 2.0 + LEVEL_EPSILON  # one tick into a 2 s fade
        fade_in = [c for c in rig.music.named("set_level") if c.args[0] == slot]
        fade_in = [c.args[1] for c in fade_in if c.t < started + 2.0]
        assert fade_in == sorted(fade_in)  # never a step down (nor a jump) while coming in


def test_steady_levels_cost_no_device_call() -> None:
    steady = {"id": "a", "duration": "60s", "music": "a", "level": "40%"}
    rig = Rig(profile(steady), {"a": [100.0]})
    rig.run(2.5)  # the 2 s fade-in
    calls = len(rig.music.calls)
    rig.run(10.0)
    assert len(rig.music.calls) == calls
    assert rig.music.levels[0] == pytest.approx(0.4)
    assert rig.conductor.steady_until(10.0) == pytest.approx(60.0 - 2.0)  # the end's fade


def test_no_nudge_takes_a_voice_over_max_level() -> None:
    loud = {"id": "a", "duration": "60s", "music": "a", "level": "60%"}
    rig = Rig(profile(loud, max_level="70%"), {"a": [100.0]})
    rig.run(3.0)
    rig.control("level +100%")
    rig.run(8.0)
    levels = [c.args[1] for c in rig.music.named("set_level")]
    assert max(levels) <= 0.70  # never above the cap, not even by rounding
    assert rig.music.levels[0] == pytest.approx(0.70, abs=LEVEL_EPSILON)  # but at it


def test_after_the_end_what_still_sounds_fades_out_then_stops() -> None:
    rig = Rig(profile(PHASE), {"a": [100.0]})
    rig.run(5.0)
    before = rig.music.levels[0]
    rig.control("stop")
    assert rig.conductor.state is not None and rig.conductor.state.ended
    assert not rig.conductor.ended  # the music is still fading out
    rig.run(5.0 + END_FADE_S / 2)
    assert rig.music.levels[0] == pytest.approx(before / 2, abs=0.02)
    rig.run(5.0 + END_FADE_S + 0.1)
    assert [c.args for c in rig.music.named("stop")] == [(0,)]
    assert rig.music.named("stop")[0].t == pytest.approx(5.0 + END_FADE_S, abs=1 / 30)
    assert rig.conductor.ended


def test_a_device_report_becomes_the_right_control() -> None:
    rig = Rig(profile(PHASE), {"a": [20.0, 100.0]})
    rig.run(5.0)
    voice = rig.conductor.state.voice  # type: ignore[union-attr]
    assert voice is not None
    ended = BackendReport("music", "ended", voice=0)
    # An end well before the planned turn (18 s): the file was shorter than its tags.
    assert rig.conductor.decide(ended) == Control("track_finished", voice=voice.id)
    rig.run(17.0)
    assert rig.conductor.decide(ended) is None  # devices end a little early: the plan turns
    failed = BackendReport("music", "error", voice=0, message="cannot decode")
    assert rig.conductor.decide(failed) == Control(
        "track_failed", voice=voice.id, message="cannot decode"
    )
    assert rig.conductor.decide(BackendReport("music", "ended", voice=2)) is None  # idle
    assert rig.conductor.decide(BackendReport("chimes", "device_lost")) is None


def test_a_failing_chime_device_is_an_error_event_and_the_session_goes_on() -> None:
    checkins = [{"at": ["1s", "2s"], "kind": "breath", "audience": "patient"}]
    rig = Rig(profile({**PHASE, "checkins": checkins}), {"a": [100.0]}, chimes=RaisingChimes)
    rig.run(2.5)
    errors = [e for e in rig.events if e.type == "error"]
    assert [(e.t, e.data["source"], e.data["message"]) for e in errors] == [
        (1.0, "chimes", "no chime device"),
        (2.0, "chimes", "no chime device"),
    ]
    assert rig.types().count("checkin_due") == 2
    assert rig.music.levels[0] > 0.0  # the music played on


def test_devices_act_before_the_step_is_journaled_and_errors_follow_their_cause() -> None:
    """A phase change with a chime at its start: the next track and the chime sound before
    any of the step's events is written, so no journal write stands before a device; the
    journal still reads in causal order: each event, then the error its action raised."""
    order: list[str] = []

    class Chimes(RaisingChimes):
        def play(self, sound: Any, level: float, audience: str) -> None:
            order.append("chime")
            super().play(sound, level, audience)

    second = {"id": "b", "duration": "60s", "music": "b", "level": "40%"}
    second["checkins"] = [{"at": [0], "kind": "breath", "audience": "patient"}]
    phases = ({**PHASE, "duration": "2s"}, second)
    rig = Rig(profile(*phases), {"a": [100.0], "b": [100.0]}, chimes=Chimes)
    rig.conductor.emit = lambda e: (order.append(e.type), rig.events.append(e))
    play = rig.music.play
    rig.music.play = lambda *args: (order.append("track"), play(*args))  # type: ignore[method-assign]
    rig.events.clear()
    rig.at(2.0)
    assert sorted(order[:2]) == ["chime", "track"]  # both before the first write
    assert order[2:] == rig.types()
    written = [(e.type, e.data.get("source")) for e in rig.events]
    due = written.index(("checkin_due", None))
    assert written[due + 1] == ("error", "chimes")
    assert written.index(("phase_started", None)) < due


def test_lost_and_recovered_devices_are_journaled() -> None:
    rig = Rig(profile(PHASE), {"a": [100.0]})
    rig.conductor.report(BackendReport("cues", "device_lost", message="lights gone"), 1.0)
    rig.conductor.report(BackendReport("cues", "device_back", message="lights"), 3.0)
    tail = [(e.type, e.t, e.data) for e in rig.events[-2:]]
    assert tail == [
        ("error", 1.0, {"source": "cues", "message": "lights gone"}),
        ("device_back", 3.0, {"source": "cues", "message": "lights"}),
    ]


def test_a_silent_output_is_journaled_once_and_its_return_once() -> None:
    rig = Rig(profile(PHASE), {"a": [100.0]})
    rig.events.clear()
    for t, cause, why, restored in [
        (1.0, "pulse", "the server is not answering", False),
        (1.1, "libvlc", "libVLC's audio output failed: gone", False),
        (4.0, "pulse", "the server is back", True),
        (5.5, "libvlc", "libVLC's audio output plays again", True),
    ]:
        rig.conductor.report(audio_report("music", "music", cause, why, restored=restored), t)
        if t == 1.1:
            assert rig.conductor.faults.why() == {"music": "the server is not answering"}
    assert [(e.type, e.t, e.data) for e in rig.events] == [
        ("audio_fault", 1.0, {"output": "music", "why": "the server is not answering"}),
        ("audio_restored", 5.5, {"output": "music", "why": "libVLC's audio output plays again"}),
    ]
    assert rig.conductor.faults.why() == {}


def test_chimes_play_at_their_planned_level_and_audience() -> None:
    checkins = [
        {"at": ["1s"], "kind": "breath", "audience": "patient", "sound": "wood", "level": "35%"}
    ]
    rig = Rig(profile({**PHASE, "checkins": checkins}), {"a": [100.0]})
    rig.run(1.5)
    assert [(c.t, c.args) for c in rig.chimes.named("play")] == [
        (pytest.approx(1.0, abs=1 / 30), ("wood", 0.35, "patient"))
    ]


def test_the_chime_device_is_readied_in_the_second_before_each_chime_only() -> None:
    checkins = [{"at": ["10s", "20s"], "kind": "breath", "audience": "patient"}]
    rig = Rig(profile({**PHASE, "checkins": checkins}), {"a": [100.0]})
    rig.run(21.0)
    prepared = [(round(c.t, 3), c.args) for c in rig.chimes.named("prepare")]
    assert {args for _, args in prepared} == {("patient",)}
    for chime in (10.0, 20.0):
        window = [t for t, _ in prepared if chime - 1.5 < t <= chime]
        assert window and min(window) <= chime - 0.9, prepared  # a second ahead
        assert len(window) == 1  # once, however often the session moves on
    assert all(9.0 - 1e-6 <= t <= 10.0 or 19.0 - 1e-6 <= t <= 20.0 for t, _ in prepared)


def test_woken_only_when_asked_the_chime_device_is_readied_once_exactly_a_second_ahead() -> None:
    checkins = [{"at": ["10s", "20s"], "kind": "breath", "audience": "patient"}]
    rig = Rig(profile({**PHASE, "checkins": checkins}), {"a": [100.0]}, level_steps=100)
    rig.woken(21.0)
    prepared = [(c.t, c.args) for c in rig.chimes.named("prepare")]
    assert prepared == [
        (pytest.approx(10.0 - CHIME_AHEAD_S), ("patient",)),
        (pytest.approx(20.0 - CHIME_AHEAD_S), ("patient",)),
    ]
    assert [c.t for c in rig.chimes.named("play")] == [10.0, 20.0]


RAMPS = {
    "id": "a",
    "duration": "60s",
    "music": "a",
    "level": {"points": [[0, "20%"], ["30s", "40%"], ["end", "40%"]]},
    "cues": [
        {
            "at": "5s",
            "midi": {
                "type": "control_change",
                "control": 7,
                "ramp": {"from": 0, "to": 90, "over": "20s"},
            },
        }
    ],
}


def test_a_stepped_device_gets_exactly_what_every_fade_step_would_send_and_no_wake_more() -> None:
    """libVLC's volume has 1 % steps: a slow ramp moves it a few times a second, and the
    engine wakes for those fade steps only. What the devices receive, and when, is what a
    loop waking at every step of the FADE_HZ grid sends them — call for call."""
    every = Rig(profile(RAMPS), {"a": [100.0]}, level_steps=100)
    every.grid(40.0)
    woken = Rig(profile(RAMPS), {"a": [100.0]}, level_steps=100)
    woken.woken(40.0)

    def sent(rig: Rig) -> list[tuple[float, Any]]:
        return [(c.t, c.args) for c in rig.music.calls + rig.cues.calls]

    assert sent(woken) == sent(every)
    levels = [c.args[1] for c in woken.music.named("set_level")]
    assert [round(x * 100) for x in levels] == sorted(set(round(x * 100) for x in levels))
    assert round(levels[-1] * 100) == 40  # the whole ramp arrived, step by step
    assert len(woken.cues.named("send")) == 91  # 0..90: every CC value once
    # 2 s fade-in to 20 %, 20 volume steps over 30 s, a CC value every 0.22 s, the upkeep.
    assert len(woken.wakes) < len(sent(woken)) + 45
    assert len(woken.wakes) < 40 * FADE_HZ / 4


def test_a_ramp_into_a_missing_device_is_one_error_until_a_value_gets_through() -> None:
    """A CC ramp sends a value every 0.22 s here: an unplugged controller must not fill
    the journal with an error for each of them."""
    rig = Rig(profile(RAMPS), {"a": [100.0]}, cues=FlakyCues)
    rig.cues.down = True
    rig.woken(10.0)
    rig.cues.down = False
    rig.woken(12.0)
    rig.cues.down = True
    rig.woken(30.0)
    errors = [(e.t, e.data["source"]) for e in rig.events if e.type == "error"]
    assert errors == [(5.0, "cues"), (pytest.approx(12.0 + 1 / FADE_HZ), "cues")]
    sent = [c.args[0]["midi"]["value"] for c in rig.cues.named("send")]
    assert sent == list(range(23, 32))  # what the ramp was at while the device was there
    assert rig.types().count("cue_sent") == 1


def test_a_device_without_level_steps_is_sent_a_moving_level_at_every_fade_step() -> None:
    rig = Rig(profile(RAMPS), {"a": [100.0]})
    rig.woken(3.0)
    fade_in = [c.t for c in rig.music.named("set_level") if c.t <= 2.0]  # 0 -> 20 % in 2 s
    assert fade_in == pytest.approx([k / FADE_HZ for k in range(1, 51)])


def test_steady_levels_wake_only_for_the_upkeep_and_the_planned_moments() -> None:
    steady = {"id": "a", "duration": "60s", "music": "a", "level": "40%"}
    checkins = [{"at": ["10.5s"], "kind": "breath", "audience": "staff"}]
    rig = Rig(profile({**steady, "checkins": checkins}), {"a": [100.0]}, level_steps=100)
    rig.woken(2.5)  # the 2 s fade-in
    rig.wakes.clear()
    rig.woken(12.0)
    assert 10.5 - CHIME_AHEAD_S in rig.wakes and 10.5 in rig.wakes
    assert len(rig.wakes) <= 9.5 + 2, rig.wakes  # once a second, and the chime's two


def test_next_wake_is_only_what_moves_and_the_planned_moments_are_the_schedulers() -> None:
    steady = {"id": "a", "duration": "60s", "music": "a", "level": "40%"}
    checkins = [{"at": ["10.5s"], "kind": "breath", "audience": "staff"}]
    rig = Rig(profile({**steady, "checkins": checkins}), {"a": [100.0]}, level_steps=100)
    rig.woken(2.5)  # the 2 s fade-in
    assert rig.conductor.next_wake(2.5, 20.0) == 20.0  # steady: nothing to wake for
    assert rig.conductor.next_moment() == 10.5
    assert rig.conductor.chimes_ready_at() == pytest.approx(10.5 - CHIME_AHEAD_S)
    rig.at(10.5 - CHIME_AHEAD_S)
    assert rig.chimes.named("prepare")[-1].args == ("staff",)
    assert rig.conductor.chimes_ready_at() == pytest.approx(60.0 - CHIME_AHEAD_S)  # the end


def test_escalations_chime_louder_each_time_up_to_the_cap_then_stop() -> None:
    """A staff check-in at 40 % with the cap at 50 %: the chime at 0:05, then each unanswered
    10 s one step (+3 dB) louder — 44.9 %, then held at the cap — and after three, silence."""
    prof = {
        "name": "escalation",
        "limits": {"max_level": "50%"},
        "phases": [
            {
                "id": "a",
                "duration": "120s",
                "music": "silence",
                "checkins": [
                    {
                        "at": ["5s"],
                        "audience": "staff",
                        "ack": "required",
                        "escalate_after": "10s",
                        "level": "40%",
                        "sound": "bell",
                    }
                ],
            }
        ],
    }
    rig = Rig(prof, {})
    rig.run(100.0, hz=10.0)
    plays = [
        (round(c.t, 1), c.args[0], round(c.args[1], 4), c.args[2]) for c in rig.chimes.named("play")
    ]
    step = 10 ** (3 / 60)  # +3 dB of amplitude on the perceptual level (amplitude = level^3)
    assert plays == [
        (5.0, "bell", 0.4, "staff"),
        (15.0, "bell", round(0.4 * step, 4), "staff"),
        (25.0, "bell", 0.5, "staff"),  # 0.4 * step^2 = 0.504: held at the cap
        (35.0, "bell", 0.5, "staff"),
    ]
    assert [e.data["count"] for e in rig.events if e.type == "checkin_escalated"] == [1, 2, 3]


def test_a_phase_end_readies_the_chime_device_only_if_the_next_phase_opens_with_a_chime() -> None:
    opens_with_one = [{"at": [0], "kind": "breath", "audience": "patient"}]
    phases = (
        {**PHASE, "duration": "10s"},
        {**PHASE, "id": "b", "duration": "10s", "checkins": opens_with_one},
        {**PHASE, "id": "c", "duration": "10s"},
    )
    rig = Rig(profile(*phases), {"a": [100.0]}, level_steps=100)
    rig.woken(25.0)
    assert [(c.t, c.args) for c in rig.chimes.named("prepare")] == [
        (pytest.approx(10.0 - CHIME_AHEAD_S), ("patient",))  # b's opening breath; c: none
    ]
    assert [c.t for c in rig.chimes.named("play")] == [10.0]


class LeadMusic(RecordingMusic):
    """A device whose fine level is heard half a second late (as libVLC's trim is)."""

    lead_s = 0.5

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.aheads: list[tuple[float, int, float | None]] = []

    def set_level(self, voice: int, level: float, ahead: float | None = None) -> None:
        super().set_level(voice, level)
        self.aheads.append((self.clock(), voice, ahead))


def test_a_device_with_a_lead_is_sent_the_level_planned_that_much_later() -> None:
    """Also where a moment lies between: the duck under a chime at 10 s reaches the
    device's fine part half a second before the chime, so it is heard on time."""
    checkins = [{"at": ["10s"], "kind": "breath", "audience": "patient", "level": "40%"}]
    steady = {**PHASE, "level": "50%", "checkins": checkins}
    rig = Rig(profile(steady), {"a": [100.0]}, music=LeadMusic)
    rig.woken(12.0)
    plan, _ = session.start(rig.conductor.timeline, 0.0)
    sent = [(t, ahead) for t, voice, ahead in rig.music.aheads if voice == 0]
    assert len(sent) > 20
    for t, ahead in sent:
        later, _ = session.advance(plan, t + 0.5)
        assert ahead == pytest.approx(session.voice_level(later, later.voice, t + 0.5)), t
    before = [ahead for t, ahead in sent if 9.5 <= t < 10.0]
    assert before and min(before) < 0.5 * 0.999  # the duck began ahead of the chime
