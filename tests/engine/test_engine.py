"""The live engine in real time, with recording devices: order, fade rate, timing, faults.

The devices only write down calls (with the monotonic time of each), so these tests check
the engine's own promises — a control is journaled before it returns, fades run at >= 20
updates a second and rest when steady, planned moments fire on time and are re-planned
when the future changes — without sound. The real audio path is test_engine_audio.py.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import apscheduler.schedulers.base as aps_base
import pytest

from setandsetting.backends.base import audio_report
from setandsetting.backends.recording import RecordingChimes, RecordingMusic
from setandsetting.core import session
from setandsetting.core.controls import parse_control
from setandsetting.engine import conductor as conductor_module
from setandsetting.engine import engine as engine_module
from setandsetting.engine.conductor import FADE_HZ, Devices
from setandsetting.engine.engine import JOB_ID, SCHEDULE_AHEAD_S, Engine, EngineClosed
from setandsetting.journal.base import Unjournaled
from setandsetting.journal.store import Journal
from setandsetting.journal.writer import JournalWriter
from tests.support.timelines import timeline


class RecordingSink(Unjournaled):
    """A journal stand-in: every event in order, each acknowledged at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []

    def append(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(event)

    def types(self) -> list[str]:
        with self._lock:
            return [e["type"] for e in self.events]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e["type"] == kind]


class FailingChimes(RecordingChimes):
    """Chimes whose first play raises, as a vanished sound card would."""

    def play(self, sound: Any, level: float, audience: str) -> None:
        if not self.named("play-failed"):
            self._record("play-failed", str(sound))
            raise RuntimeError("the chime device vanished")
        super().play(sound, level, audience)


def profile(*phases: dict[str, Any], crossfade: str = "1s") -> dict[str, Any]:
    return {
        "name": "engine test",
        "defaults": {"crossfade": crossfade},
        "limits": {"max_level": "80%"},
        "phases": list(phases),
    }


class Rig:
    """An engine on recording devices whose clock is the monotonic clock."""

    def __init__(
        self,
        prof: dict[str, Any],
        slots: dict[str, list[float]],
        chimes: Any = None,
        level_steps: int | None = None,
    ):
        self.music = RecordingMusic(time.monotonic, level_steps)
        self.chimes = chimes or RecordingChimes(time.monotonic)
        self.sink = RecordingSink()
        self.engine = Engine(
            timeline(prof, slots), Devices(self.music, self.chimes), sink=self.sink
        )
        self.mono0 = time.monotonic() - self.engine.now()  # session t=0 on the monotonic clock

    def wait_until(self, t: float) -> None:
        """Sleep until session time t."""
        time.sleep(max(0.0, t - self.engine.now()))

    def levels(self, voice: int, t0: float, t1: float) -> list[float]:
        """Session times of set_level calls on a device voice within [t0, t1)."""
        return [
            c.t - self.mono0
            for c in self.music.named("set_level")
            if c.args[0] == voice and t0 <= c.t - self.mono0 < t1
        ]


END_FADE_S = 0.3  # the end-of-session fade, shortened so stopping a rig takes no time


@pytest.fixture
def rigs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Rig]]:
    """Engines made in a test; each is stopped afterwards, also when the test fails."""
    monkeypatch.setattr(conductor_module, "END_FADE_S", END_FADE_S)
    made: list[Rig] = []
    yield made
    for rig in made:
        rig.engine.stop()


def start(rigs: list[Rig], prof: dict[str, Any], slots: dict[str, list[float]], **kw: Any) -> Rig:
    rig = Rig(prof, slots, **kw)
    rigs.append(rig)
    rig.engine.start()
    return rig


STEADY = {"id": "a", "duration": "60s", "extendable": "10m", "music": "a", "level": "40%"}


def test_a_control_returns_only_after_its_events_reached_the_sink(rigs: list[Rig]) -> None:
    rig = start(rigs, profile(STEADY), {"a": [100.0]})
    returned = rig.engine.submit(parse_control("note the patient smiles"))
    # Everything the control caused was in the sink before submit() returned...
    written = list(rig.sink.events)
    assert [e["type"] for e in returned] == ["note"]
    assert returned[0] in written
    # ...journaled as the control first, then its effect, nothing between them.
    i = written.index(returned[0])
    assert written[i - 1]["type"] == "control"
    assert written[i - 1]["action"] == "note"
    assert written[i - 1]["value"] == "the patient smiles"

    returned = rig.engine.submit(parse_control("extend 5m"))
    assert [e["type"] for e in returned] == ["phase_extended"]
    tail = rig.sink.types()[-2:]
    assert tail == ["control", "phase_extended"]


def test_a_refused_control_is_journaled_with_its_refusal(rigs: list[Rig]) -> None:
    rig = start(rigs, profile({**STEADY, "extendable": "0s"}), {"a": [100.0]})
    returned = rig.engine.submit(parse_control("extend 5m"))
    assert [e["type"] for e in returned] == ["control_refused"]
    assert rig.sink.types()[-2:] == ["control", "control_refused"]


def test_fades_update_at_least_20_times_a_second_and_rest_when_steady(
    rigs: list[Rig],
) -> None:
    ramp = {
        "id": "a",
        "duration": "60s",
        "music": "a",
        # 1 s fade-in (the crossfade), a 2 s ramp, then steady for good.
        "level": {"points": [[0, "20%"], ["1s", "20%"], ["3s", "60%"], ["end", "60%"]]},
    }
    rig = start(rigs, profile(ramp), {"a": [100.0]})
    rig.wait_until(4.5)
    moving = rig.levels(0, 0.1, 2.9)
    assert len(moving) / 2.8 >= 20.0, f"{len(moving)} level updates in 2.8 s"
    longest = max(b - a for a, b in pairwise(moving))
    assert longest < 0.15, f"the fade stalled for {longest:.3f} s"
    assert rig.levels(0, 3.2, 4.5) == []  # steady: not one device call
    assert rig.music.levels[0] == pytest.approx(0.6, abs=0.001)


def test_with_level_steps_the_engine_wakes_only_for_the_steps_a_ramp_crosses(
    rigs: list[Rig], monkeypatch: pytest.MonkeyPatch
) -> None:
    """libVLC's 1 % steps: 20 % -> 30 % over 10 s crosses a step each second. The engine
    sleeps between them (and the once-a-second upkeep), and sets each on its fade step."""
    ramp = {
        "id": "a",
        "duration": "60s",
        "music": "a",
        "level": {"points": [[0, "20%"], ["2s", "20%"], ["12s", "30%"], ["end", "30%"]]},
    }
    rig = Rig(profile(ramp), {"a": [100.0]}, level_steps=100)
    rigs.append(rig)
    ticks: list[float] = []
    tick = rig.engine.conductor.tick
    monkeypatch.setattr(rig.engine.conductor, "tick", lambda t: (ticks.append(t), tick(t)))
    rig.engine.start()
    rig.wait_until(6.6)
    window = [t for t in ticks if 2.5 <= t < 6.5]
    steps = [(c.t - rig.mono0, c.args[1]) for c in rig.music.named("set_level")]
    crossed = [(t, level) for t, level in steps if 2.5 <= t < 6.5]
    # 20.5 %, 21.5 %, ... are crossed at 2.5 s, 3.5 s, ...: on the first fade step after
    assert [round(level * 100) for _, level in crossed] == [21, 22, 23, 24]
    for (t, _), want in zip(crossed, [2.52, 3.52, 4.52, 5.52], strict=True):
        assert 0.0 <= t - want < 0.01, crossed
    assert len(window) <= 4 + 4 + 2, window  # the steps, the upkeep, a moment or two
    assert len(window) < 4.0 * 25 / 5  # not a fade loop at 25 Hz


def test_a_checkin_chime_plays_within_a_few_ms_of_plan(rigs: list[Rig]) -> None:
    checkins = [{"at": ["1s", "2s"], "kind": "breath", "audience": "patient", "sound": "wood"}]
    rig = start(rigs, profile({**STEADY, "checkins": checkins}), {"a": [100.0]})
    rig.wait_until(2.3)
    played = [c.t - rig.mono0 for c in rig.chimes.named("play")]
    assert len(played) == 2
    for got, planned in zip(played, [1.0, 2.0], strict=True):
        assert 0.0 <= got - planned < 0.015, played
    due = rig.sink.of_type("checkin_due")
    assert [e["t"] for e in due] == pytest.approx([1.0, 2.0], abs=0.015)


def test_during_a_fade_a_chime_is_not_rounded_to_the_next_fade_step(rigs: list[Rig]) -> None:
    """The scheduler hands the engine each planned moment SCHEDULE_AHEAD_S early, and the
    engine waits for it between its fade steps (FADE_HZ). Rounded to the next 40 ms step,
    these chimes would be 30, 40, 10, 20 and 30 ms late."""
    ramp = {"id": "a", "duration": "60s", "music": "a", "level": {"from": "20%", "to": "60%"}}
    planned = [1.01, 1.52, 2.03, 2.54, 3.05]
    checkins = [{"at": [f"{t}s" for t in planned], "kind": "breath", "audience": "patient"}]
    rig = start(rigs, profile({**ramp, "checkins": checkins}), {"a": [100.0]})
    rig.wait_until(3.3)
    played = [c.t - rig.mono0 for c in rig.chimes.named("play")]
    due = [e["t"] for e in rig.sink.of_type("checkin_due")]  # each planned moment, exactly
    assert due == pytest.approx(planned, abs=0.01)
    late_ms = [(got - want) * 1000 for got, want in zip(played, due, strict=True)]
    rounded_ms = [(math.ceil(t * FADE_HZ) / FADE_HZ - t) * 1000 for t in planned]
    assert sorted(round(ms) for ms in rounded_ms) == [0, 10, 20, 30, 30]  # what rounding does
    assert all(-0.1 <= ms < 10.0 for ms in late_ms), late_ms  # < a timeslice lost to load


def test_a_slow_disk_never_delays_a_chime_and_a_control_is_answered_once_on_disk(
    rigs: list[Rig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every commit takes 150 ms here (a busy disk's fsync): the journal is written by a
    thread of its own, so the chimes keep their time; `submit` still returns only when
    the control's events are rows on disk."""
    journal = Journal.open(tmp_path / "sessions.db")
    session_id = journal.begin_session("P-1", "p.yaml", "P", datetime.now(UTC), {})
    write = Journal.append_many

    def slow(self: Journal, items: Any) -> None:
        time.sleep(0.15)
        write(self, items)

    monkeypatch.setattr(Journal, "append_many", slow)
    checkins = [{"at": ["0.5s", "0.6s", "0.7s", "0.8s"], "kind": "breath", "audience": "patient"}]
    rig = Rig(profile({**STEADY, "checkins": checkins}), {"a": [100.0]})
    writer = JournalWriter(journal)
    rig.engine.sink = writer.session(session_id)
    rigs.append(rig)
    rig.engine.start()
    rig.wait_until(0.45)
    returned = rig.engine.submit(parse_control("note on disk before the answer"))
    rows = sqlite3.connect(tmp_path / "sessions.db").execute(
        "SELECT type FROM events WHERE session_id = ?", (session_id,)
    )
    assert [e["type"] for e in returned] == ["note"]
    assert "note" in [r[0] for r in rows]
    rig.wait_until(0.9)
    played = [c.t - rig.mono0 for c in rig.chimes.named("play")]
    assert len(played) == 4
    late_ms = [(got - want) * 1000 for got, want in zip(played, [0.5, 0.6, 0.7, 0.8], strict=True)]
    assert max(late_ms) < 20.0, late_ms  # a commit in the way would make them 150 ms late
    rig.engine.stop()
    assert [e["type"] for e in journal.events(session_id)].count("checkin_due") == 4
    writer.close()
    journal.close()


def job_time(engine: Engine) -> float:
    """The session moment the scheduler's job is for; it runs SCHEDULE_AHEAD_S before it
    on the wall clock."""
    job = engine._scheduler.get_job(JOB_ID)
    assert job is not None
    (moment,) = job.args
    run_s = (job.next_run_time - engine.started_wall).total_seconds()
    assert run_s == pytest.approx(moment - SCHEDULE_AHEAD_S, abs=0.01)
    return moment


def test_the_scheduler_is_what_fires_a_planned_moment(rigs: list[Rig]) -> None:
    """Two engines, one whose scheduler's job does nothing: its check-in waits for the
    once-a-second upkeep (which catches the session up: late, never lost), while the
    real one chimes on time."""
    checkins = [{"at": ["1.5s"], "kind": "breath", "audience": "patient"}]
    prof = profile({**STEADY, "checkins": checkins})
    silent = Rig(prof, {"a": [100.0]})
    rigs.append(silent)
    silent.engine._fire = lambda moment: None  # type: ignore[method-assign]
    silent.engine.start()
    rig = start(rigs, prof, {"a": [100.0]})
    rig.wait_until(1.8)
    played = [c.t - rig.mono0 for c in rig.chimes.named("play")]
    assert len(played) == 1 and 0.0 <= played[0] - 1.5 < 0.015, played
    assert silent.engine.now() >= 1.75
    assert silent.chimes.named("play") == []  # not by itself, nor at a fade step
    silent.wait_until(2.3)
    [late] = [c.t - silent.mono0 - 1.5 for c in silent.chimes.named("play")]
    assert 0.3 < late < 0.7  # at the upkeep, about 2 s into the session


def test_the_scheduler_job_is_replanned_when_a_control_changes_the_future(
    rigs: list[Rig],
) -> None:
    phases = (
        {**STEADY, "duration": "30s"},
        {"id": "b", "duration": "20s", "music": "a", "level": "40%"},
    )
    rig = start(rigs, profile(*phases), {"a": [100.0]})
    engine = rig.engine
    assert job_time(engine) == pytest.approx(30.0, abs=0.05)  # the end of phase a

    engine.submit(parse_control("extend 10s"))
    time.sleep(0.05)
    assert job_time(engine) == pytest.approx(40.0, abs=0.05)

    engine.submit(parse_control("next"))
    moved = engine.now()
    time.sleep(0.05)
    # Phase b runs from now, so the next moment is the first track's turn or b's end.
    expected = session.next_moment(engine.conductor.state)
    assert expected is not None and expected < 40.0
    assert job_time(engine) == pytest.approx(expected, abs=0.05)
    assert rig.sink.of_type("phase_started")[-1]["t"] == pytest.approx(moved, abs=0.05)


def test_a_device_that_raises_is_journaled_and_the_session_goes_on(rigs: list[Rig]) -> None:
    checkins = [{"at": ["0.5s", "1s"], "kind": "breath", "audience": "patient"}]
    chimes = FailingChimes(time.monotonic)
    rig = start(rigs, profile({**STEADY, "checkins": checkins}), {"a": [100.0]}, chimes=chimes)
    rig.wait_until(1.3)
    errors = rig.sink.of_type("error")
    assert [(e["source"], e["message"]) for e in errors] == [
        ("chimes", "the chime device vanished")
    ]
    assert errors[0]["t"] == pytest.approx(0.5, abs=0.02)
    assert rig.engine.running
    plays = [c.method for c in chimes.calls if c.method != "prepare"]
    assert plays == ["play-failed", "play"]  # the next one plays
    assert [e["type"] for e in rig.engine.submit(parse_control("note still here"))] == ["note"]


def test_a_silent_output_is_in_the_snapshot_while_the_clock_goes_on(rigs: list[Rig]) -> None:
    rig = start(rigs, profile(STEADY), {"a": [100.0]})
    rig.wait_until(0.3)
    why = "the PulseAudio sound server is not answering"
    rig.engine.report(audio_report("music", "music", "pulse", why, restored=False))
    deadline = time.monotonic() + 2.0
    while not rig.engine.snapshot()["audio_faults"] and time.monotonic() < deadline:
        time.sleep(0.01)
    snap = rig.engine.snapshot()
    assert (snap["music"], snap["audio_faults"]) == ("no_sound", [{"output": "music", "why": why}])
    rig.engine.report(audio_report("music", "music", "pulse", "back", restored=True))
    rig.wait_until(1.0)
    snap = rig.engine.snapshot()
    assert (snap["music"], snap["audio_faults"]) == ("playing", [])
    assert snap["t"] >= 1.0  # the session clock went on through the outage
    assert rig.sink.types().count("audio_fault") == rig.sink.types().count("audio_restored") == 1


def test_no_control_is_taken_after_the_session_has_ended(rigs: list[Rig]) -> None:
    short = {"id": "a", "duration": "1s", "music": "silence"}
    rig = start(rigs, profile(short), {})
    rig.engine.join(timeout=5.0)
    assert not rig.engine.running
    assert rig.sink.of_type("session_ended")[0]["reason"] == "completed"
    with pytest.raises(EngineClosed):
        rig.engine.submit(parse_control("note too late"))
    assert rig.music.named("close") and rig.chimes.named("close")  # devices released


def test_stop_fades_the_music_out_then_ends(rigs: list[Rig]) -> None:
    rig = start(rigs, profile(STEADY, crossfade="0.2s"), {"a": [100.0]})
    rig.wait_until(0.5)
    stopped_at = rig.engine.now()
    rig.engine.stop()
    assert not rig.engine.running
    assert rig.sink.of_type("session_ended")[-1]["reason"] == "stopped"
    fade = rig.levels(0, stopped_at, 100.0)
    assert len(fade) >= 20 * END_FADE_S  # a glide at the fade rate, not a cut
    assert rig.music.named("set_level")[-1].args == (0, 0.0) or rig.music.levels == {}
    stop = rig.music.named("stop")[-1].t - rig.mono0
    assert stop - stopped_at == pytest.approx(END_FADE_S, abs=0.1)
    with pytest.raises(EngineClosed):
        rig.engine.submit(parse_control("note after the end"))


@pytest.mark.parametrize("step_s", [3600.0, -3600.0])
def test_a_wall_clock_step_replans_instead_of_firing_early_or_late(
    rigs: list[Rig], monkeypatch: pytest.MonkeyPatch, step_s: float
) -> None:
    checkins = [{"at": ["2.5s"], "kind": "breath", "audience": "patient"}]
    rig = start(rigs, profile({**STEADY, "checkins": checkins}), {"a": [100.0]})
    engine = rig.engine
    rig.wait_until(0.5)
    before = engine._scheduler.get_job(JOB_ID).next_run_time

    # NTP (or a resume from suspend) moves the wall clock; the monotonic clock goes on.
    real_time = time.time

    class SteppedDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + timedelta(seconds=step_s)

    monkeypatch.setattr(engine_module.time, "time", lambda: real_time() + step_s)
    monkeypatch.setattr(engine_module, "datetime", SteppedDatetime)
    monkeypatch.setattr(aps_base, "datetime", SteppedDatetime)
    time.sleep(1.2)  # the upkeep looks at the wall clock once a second
    after = engine._scheduler.get_job(JOB_ID).next_run_time
    assert (after - before).total_seconds() == pytest.approx(step_s, abs=0.05)

    rig.wait_until(2.8)
    played = [c.t - rig.mono0 for c in rig.chimes.named("play")]
    assert len(played) == 1
    assert 0.0 <= played[0] - 2.5 < 0.015  # on the monotonic plan, neither early nor late
