"""The live engine through the real audio path: what comes out of the loudspeaker's place.

A private PulseAudio server with a pipe sink (tests/support/pulse.py) stands in for the
room's sound card. A real Engine plays real files through VlcMusic (--aout=pulse) and
PygameChimes (SDL's pulseaudio driver); the tests read the captured stream and compare it
with the plan the session itself computes (session.voice_level on the engine's states).

Capture time and session time: sample i of a take was mixed at about session time
`take.t0 + i / rate` minus the output latency (a constant of the pipe sink and the
player). Where the plan's shape must match exactly (the level ramp) that constant is
fitted; where it only bounds (nothing louder than planned), latency can only make sound
later, so the bound holds without it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from setandsetting.backends.base import BackendReport
from setandsetting.backends.pygame_chimes import PygameChimes
from setandsetting.backends.vlc_music import VlcMusic
from setandsetting.core import session
from setandsetting.core.controls import parse_control
from setandsetting.core.profile import Profile
from setandsetting.core.room import Room
from setandsetting.core.session import State
from setandsetting.core.status import status_line
from setandsetting.core.timeline import SlotSource, Timeline, TrackInfo, compile_timeline
from setandsetting.engine.conductor import Devices
from setandsetting.engine.devices import real_devices
from setandsetting.engine.engine import Engine
from tests.backends.test_pygame_chimes import onset_errors_ms, onsets
from tests.support.audio_analysis import envelope_db, first_onset, silent_gaps, write_tone
from tests.support.pulse import PulseCapture, pulse

pytestmark = pytest.mark.audio
__all__ = ["pulse"]  # the fixture is used by name

AMPLITUDE = 0.5  # write_tone's sine amplitude: level L sounds at 0.5 * L**3
FULL_DB = 20 * math.log10(AMPLITUDE / math.sqrt(2))  # its RMS at level 100 %
HOP_S = 0.02  # 20 ms windows hold whole periods of 500 Hz and 750 Hz
SILENT_LEVEL = (10 ** (-60 / 20) / AMPLITUDE) ** (1 / 3)  # a tone's level at -60 dBFS
CLICK_LEVEL = (10 ** (-90 / 20) / AMPLITUDE) ** (1 / 3)  # ...at -90 dBFS


@dataclass
class Take:
    """One session played and recorded: audio, events, and the states the plan came from."""

    audio: np.ndarray
    rate: int
    t0: float  # session time of the first captured sample
    events: list[dict[str, Any]]
    states: list[tuple[float, State]] = field(default_factory=list)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def state_at(self, t: float) -> State:
        """The session state in force at session time t (the last one taken by then)."""
        chosen = self.states[0][1]
        for when, state in self.states:
            if when > t:
                break
            chosen = state
        return chosen

    def planned(self, t: float, voice_id: int) -> float:
        """The level the session planned for a voice at t (0 when it does not sound)."""
        state = self.state_at(t)
        voice = next((v for v in session.voices(state) if v.id == voice_id), None)
        return 0.0 if voice is None else session.voice_level(state, voice, t)

    def window_times(self, n: int) -> np.ndarray:
        """Session time at the centre of each of n HOP_S windows (before latency)."""
        return self.t0 + (np.arange(n) + 0.5) * HOP_S


def real_timeline(prof: dict[str, Any], slots: dict[str, list[Path]], chimes: Any) -> Timeline:
    """Compile a profile over real files, each track's length read from the file."""
    sources = {
        name: SlotSource(
            name,
            paths[0].parent / f"{name}.yaml",
            "default",
            tuple(TrackInfo(p, p.stem, length=sf.info(p).duration) for p in paths),
        )
        for name, paths in slots.items()
    }
    timeline = compile_timeline(
        Profile.model_validate(prof),
        sources,
        patient_id="P-test",
        sound_length=chimes.duration,
    )
    assert not [w for w in timeline.warnings if "silent" in w or "skipped" in w]
    return timeline


@dataclass
class Studio:
    """Plays sessions on real devices into the test's PulseAudio server."""

    pulse: PulseCapture
    fine: bool = True  # libVLC's fine gain (the equalizer's trim), as a room has it

    def play(
        self,
        prof: dict[str, Any],
        slots: dict[str, list[Path]],
        seconds: float,
        controls: tuple[tuple[float, str], ...] = (),
        before_start: Callable[[], None] | None = None,
    ) -> Take:
        """Run a session for `seconds` (pressing `controls` at their session times)."""
        holder: list[Engine] = []

        def report(r: BackendReport) -> None:  # libVLC/pygame threads: only queues
            holder[0].report(r)

        music = VlcMusic(report, aout="pulse", voices=3, fine=self.fine)
        devices = Devices(music, PygameChimes(report))
        try:
            timeline = real_timeline(prof, slots, devices.chimes)
            if before_start is not None:
                before_start()
            engine = Engine(timeline, devices)
        except BaseException:
            devices.close()
            raise
        holder.append(engine)
        events: list[dict[str, Any]] = []
        states: list[tuple[float, State]] = []

        def seen(event: dict[str, Any]) -> None:  # on the engine thread, after the change
            events.append(event)
            states.append((event["t"], engine.conductor.state))

        engine.subscribe(seen)
        self.pulse.start_recording()
        t_rec = time.monotonic()
        try:
            engine.start()
            t0 = engine.now() - (time.monotonic() - t_rec)
            for at, text in controls:
                time.sleep(max(0.0, at - engine.now()))
                engine.submit(parse_control(text))
            time.sleep(max(0.0, seconds - engine.now()))
        finally:
            engine.stop()  # also closes the devices
        audio = self.pulse.stop_recording()
        return Take(audio, self.pulse.rate, t0, events, states)


@pytest.fixture
def studio(pulse: PulseCapture) -> Studio:
    return Studio(pulse)


def tone_levels(audio: np.ndarray, rate: int, freq: float) -> np.ndarray:
    """Perceptual level (amplitude = 0.5 * level**3) of one sine in each HOP_S window.

    Hann-windowed DFT at the sine's bin: a window holding whole periods of both 500 Hz
    and 750 Hz sees none of the other tone.
    """
    hop = round(HOP_S * rate)
    x = audio.mean(axis=1)
    n = len(x) // hop
    frames = x[: n * hop].reshape(n, hop) * np.hanning(hop)
    k = round(freq * hop / rate)
    basis = np.exp(-2j * np.pi * k * np.arange(hop) / hop)
    amp = 2 * np.abs(frames @ basis) / np.hanning(hop).sum()
    return np.cbrt(amp / AMPLITUDE)


def fitted_error_db(take: Take, env: np.ndarray, voice_id: int) -> tuple[float, float, int]:
    """(RMS error dB, latency s, windows) of the envelope against the plan where the plan
    is >= 10 %, for the best constant output latency in 0..0.5 s."""
    centres = take.window_times(len(env))
    best = (math.inf, 0.0, 0)
    for latency in np.arange(0.0, 0.5, 0.005):
        plan = np.array([take.planned(t - latency, voice_id) for t in centres])
        use = plan >= 0.10
        want = FULL_DB + 60 * np.log10(plan[use])
        err = float(np.sqrt(np.mean((env[use] - want) ** 2)))
        if err < best[0]:
            best = (err, float(latency), int(use.sum()))
    return best


def test_the_heard_level_follows_the_planned_curve_and_never_passes_the_cap(
    studio: Studio, tmp_path: Path
) -> None:
    tone = write_tone(tmp_path / "tone.flac", freq=500.0, seconds=10.0, amplitude=AMPLITUDE)
    prof = {
        "name": "ramp",
        "limits": {"max_level": "70%"},
        "defaults": {"crossfade": "1s"},
        "phases": [
            {"id": "rise", "duration": "7s", "music": "tone", "level": {"from": "20%", "to": "70%"}}
        ],
    }
    # The nudge pushes the curve past the cap from ~4 s: the cap must hold it at 70 %.
    take = studio.play(prof, {"tone": [tone]}, 7.6, controls=((2.0, "level +30%"),))
    assert take.of_type("error") == []
    assert [e["type"] for e in take.of_type("level_changed")] == ["level_changed"]

    env = envelope_db(take.audio, take.rate, HOP_S)
    error, latency, windows = fitted_error_db(take, env, voice_id=0)
    print(f"ramp: RMS error {error:.2f} dB over {windows} windows, latency {latency * 1e3:.0f} ms")
    assert windows >= 200  # >= 4 s of the curve were compared
    assert error < 1.0
    assert latency < 0.4
    # The cap: 70 % is exactly libVLC volume 70 (no rounding up), PulseAudio's cubic volume
    # is exact to ~1e-4 dB and the windows hold whole periods, so only s16 quantisation
    # (< 0.01 dB at this level) separates the loudest window from the cap; 0.2 dB is room.
    cap_db = FULL_DB + 60 * math.log10(0.70)
    assert env.max() <= cap_db + 0.2
    assert env.max() >= cap_db - 0.5  # and the cap was reached: the check above bit


def test_checkin_chimes_land_on_plan_each_exactly_once(studio: Studio) -> None:
    """Also after a pause long enough for the chime device to close: it is open again,
    a second ahead, for the next chime."""
    offsets = [0.5, 1.5, 2.7, 7.2]
    prof = {
        "name": "chimes",
        "phases": [
            {
                "id": "quiet",
                "duration": "8s",
                "music": "silence",
                "checkins": [
                    {
                        "at": [f"{o}s" for o in offsets],
                        "kind": "breath",
                        "audience": "patient",
                        "sound": "wood",
                        "level": "60%",
                    }
                ],
            }
        ],
    }
    streams: list[tuple[float, int]] = []  # (monotonic s, playback streams on the server)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            streams.append((time.monotonic(), studio.pulse.streams()))

    watcher = threading.Thread(target=watch, name="streams")
    t_start = time.monotonic()
    watcher.start()
    try:
        take = studio.play(prof, {}, 8.0)
    finally:
        done.set()
        watcher.join()
    assert [e["t"] for e in take.of_type("checkin_due")] == pytest.approx(offsets, abs=0.02)
    in_gap = [n for t, n in streams if 5.5 < t - t_start < 6.0]
    assert in_gap and max(in_gap) == 0, streams  # the mixer slept between 2.7 s and 7.2 s
    found = onsets(take.audio, take.rate)
    assert len(found) == len(offsets), found  # each exactly once
    errors = onset_errors_ms(offsets, found)
    print("chime onset errors (ms):", [round(e, 1) for e in errors])
    assert max(abs(e) for e in errors) <= 30.0


def test_a_crossfade_has_no_gap_and_the_new_track_never_starts_loud(
    studio: Studio, tmp_path: Path
) -> None:
    a = write_tone(tmp_path / "a.flac", freq=500.0, seconds=3.0, amplitude=AMPLITUDE)
    b = write_tone(tmp_path / "b.flac", freq=750.0, seconds=4.0, amplitude=AMPLITUDE)
    prof = {
        "name": "crossfade",
        "limits": {"max_level": "80%"},
        "defaults": {"crossfade": "1s"},
        "phases": [{"id": "one", "duration": "5.5s", "music": "ab", "level": "50%"}],
    }
    take = studio.play(prof, {"ab": [a, b]}, 5.8)
    started = take.of_type("track_started")
    assert [Path(e["path"]).name for e in started] == ["a.flac", "b.flac"]
    b_start, b_voice = started[1]["t"], started[1]["voice"]
    assert b_start == pytest.approx(2.0, abs=0.05)  # a's end minus the crossfade

    first = first_onset(take.audio, threshold_db=-60.0)
    last = len(take.audio) - first_onset(take.audio[::-1], threshold_db=-60.0)
    assert first is not None
    assert silent_gaps(take.audio[first:last], take.rate, min_ms=50.0) == []

    heard_b = tone_levels(take.audio, take.rate, 750.0)
    times = take.window_times(len(heard_b))
    # Each step of a's level is a click, broadband: in its 20 ms window it reads up to
    # -58 dBFS at 750 Hz too (seen with both cores busy), though b is not playing. A click
    # shows at 1 kHz, where neither tone is (the floor there is below -120 dBFS); a track
    # that starts loud is b's tone alone, and lasts longer than one window.
    clean = tone_levels(take.audio, take.rate, 1000.0) < CLICK_LEVEL
    assert clean.sum() > 0.8 * len(clean)  # clicks are rare, not the whole take
    # b is not heard before it starts: below -60 dBFS (b at its planned 50 % would be
    # -27 dBFS).
    assert heard_b[(times < b_start) & clean].max() < SILENT_LEVEL
    # Latency only delays sound: what is heard in a window was set by its end at the latest
    # (+ 20 ms for the reader), and b's plan only rises during its fade-in. Half a libVLC
    # volume step (0.005) plus s16 noise is the tolerance; below -60 dBFS the level reads
    # a's splatter, not b, and nothing there could be heard over a anyway.
    fading_in = (times >= b_start) & (times < b_start + 1.5) & (heard_b > SILENT_LEVEL) & clean
    assert fading_in.sum() > 40
    bound = np.array([take.planned(t + HOP_S / 2 + 0.02, b_voice) for t in times[fading_in]])
    over = heard_b[fading_in] - bound
    assert over.max() <= 0.01, f"b louder than planned by {over.max():.3f} at its start"
    assert heard_b.max() <= 0.5 + 0.01
    assert take.of_type("error") == []


def test_a_missing_file_mid_playlist_brings_the_next_track_within_2_s(
    studio: Studio, tmp_path: Path
) -> None:
    a = write_tone(tmp_path / "a.flac", freq=500.0, seconds=3.0, amplitude=AMPLITUDE)
    gone = write_tone(tmp_path / "gone.flac", freq=300.0, seconds=3.0, amplitude=AMPLITUDE)
    c = write_tone(tmp_path / "c.flac", freq=750.0, seconds=4.0, amplitude=AMPLITUDE)
    prof = {
        "name": "missing",
        "defaults": {"crossfade": "1s"},
        "phases": [{"id": "one", "duration": "7s", "music": "abc", "level": "50%"}],
    }
    # The file is there when the session is planned and gone when its turn comes.
    take = studio.play(prof, {"abc": [a, gone, c]}, 5.0, before_start=gone.unlink)

    started = take.of_type("track_started")
    assert [Path(e["path"]).name for e in started] == ["a.flac", "gone.flac", "c.flac"]
    errors = take.of_type("error")
    assert len(errors) == 1
    assert errors[0]["source"] == "music"
    assert "gone.flac" in errors[0]["message"]
    gone_t, c_t = started[1]["t"], started[2]["t"]
    assert c_t - gone_t < 2.0
    assert errors[0]["t"] == pytest.approx(c_t, abs=0.001)

    heard_c = tone_levels(take.audio, take.rate, 750.0)
    times = take.window_times(len(heard_c))
    audible = np.flatnonzero(heard_c > SILENT_LEVEL)
    assert audible.size, "the next track was never heard"
    assert times[audible[0]] - gone_t < 2.0
    # The music went on: a, fading out, then c, with no silence between them.
    first = first_onset(take.audio, threshold_db=-60.0)
    assert first is not None
    end = round((4.5 - take.t0) * take.rate)
    assert silent_gaps(take.audio[first:end], take.rate, min_ms=50.0) == []


def test_the_sound_server_killed_mid_session_is_a_fault_and_its_return_brings_the_music(
    pulse: PulseCapture, tmp_path: Path
) -> None:
    """The room's devices as a session gets them (real_devices: libVLC, SDL and the sound
    server's watch). The server dies under the music: `audio_fault` within 5 s and the
    status says NO SOUND, the session clock going on; a new server: the music is heard
    again and `audio_restored` is journaled, once."""
    tone = write_tone(tmp_path / "tone.flac", freq=500.0, seconds=40.0, amplitude=AMPLITUDE)
    prof = {
        "name": "outage",
        "phases": [{"id": "one", "duration": "40s", "music": "tone", "level": "50%"}],
    }
    holder: list[Engine] = []
    devices = real_devices(Room(), lambda r: holder[0].report(r), None, aout="pulse")
    try:
        engine = Engine(real_timeline(prof, {"tone": [tone]}, devices.chimes), devices)
    except BaseException:
        devices.close()
        raise
    holder.append(engine)
    events: list[dict[str, Any]] = []
    engine.subscribe(events.append)

    def first(kind: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in events if e["type"] == kind]
            if found:
                return found[0]
            time.sleep(0.02)
        pytest.fail(f"no {kind} within {timeout} s: {[e['type'] for e in events]}")

    try:
        engine.start()
        time.sleep(2.0)
        assert engine.snapshot()["audio_faults"] == []
        killed = engine.now()
        pulse.stop()
        fault = first("audio_fault", 5.0)
        print(f"audio_fault {fault['t'] - killed:.2f} s after the kill: {fault['why']}")
        assert fault["t"] - killed < 5.0
        # each output is judged on its own: the second fault may follow the first closely
        deadline = time.monotonic() + 5.0
        while len(engine.snapshot()["audio_faults"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        snap = engine.snapshot()
        assert snap["music"] == "no_sound"
        assert {f["output"] for f in snap["audio_faults"]} == {"music", "patient_chimes"}
        assert snap["t"] - killed < 5.0 + 0.5
        assert "NO SOUND" in status_line(snap)
        time.sleep(1.0)
        assert engine.snapshot()["t"] > killed + 1.0  # the session clock goes on
        pulse.restart()
        restarted = engine.now()
        first("audio_restored", 20.0)
        deadline = time.monotonic() + 10.0
        while engine.snapshot()["audio_faults"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.snapshot()["audio_faults"] == []
        restored = [e for e in events if e["type"] == "audio_restored"]
        print(f"restored {[round(e['t'] - restarted, 2) for e in restored]} s after the restart")
        pulse.start_recording()
        time.sleep(1.0)
        heard = pulse.stop_recording()
        assert engine.snapshot()["music"] == "playing"
    finally:
        engine.stop()
    level_db = FULL_DB + 60 * math.log10(0.5)
    env = envelope_db(heard, pulse.rate, HOP_S)
    assert np.median(env) == pytest.approx(level_db, abs=1.0)  # the music is back, at 50 %
    faults = [(e["output"], e["type"]) for e in events if e["type"].startswith("audio_")]
    assert sorted(faults) == [
        ("music", "audio_fault"),
        ("music", "audio_restored"),
        ("patient_chimes", "audio_fault"),
        ("patient_chimes", "audio_restored"),
    ]  # each once
    assert [e["type"] for e in events if e["type"] == "session_ended"] == ["session_ended"]


def test_a_slot_played_through_three_phases_flows_on_without_a_dip(
    studio: Studio, tmp_path: Path
) -> None:
    """One steady tone, three phases on its slot: the track plays on (one track_started),
    and what is heard follows the planned curve through both phase changes, gliding from
    one phase's level to the next with no dip at either boundary."""
    tone = write_tone(tmp_path / "tone.flac", freq=500.0, seconds=12.0, amplitude=AMPLITUDE)
    prof = {
        "name": "flow",
        "limits": {"max_level": "80%"},
        "defaults": {"crossfade": "1s"},
        "phases": [
            {"id": "a", "duration": "1.5s", "music": "tone", "level": "40%"},
            {"id": "b", "duration": "2s", "music": "tone", "level": {"from": "65%", "to": "55%"}},
            {"id": "c", "duration": "2s", "music": "tone", "level": "30%"},
        ],
    }
    take = studio.play(prof, {"tone": [tone]}, 5.6)  # it ends by itself at 5.5 s
    assert take.of_type("error") == []
    assert [e["phase"] for e in take.of_type("phase_started")] == ["a", "b", "c"]
    assert len(take.of_type("track_started")) == 1

    env = envelope_db(take.audio, take.rate, HOP_S)
    error, latency, windows = fitted_error_db(take, env, voice_id=0)
    print(f"flow: RMS error {error:.2f} dB over {windows} windows, latency {latency * 1e3:.0f} ms")
    assert windows >= 200  # > 4 s of the curve, both phase changes included
    assert error < 1.0
    centres = take.window_times(len(env)) - latency
    for boundary in (1.5, 3.5):
        near = np.abs(centres - boundary) < 0.7
        plan = np.array([take.planned(t, 0) for t in centres[near]])
        below = FULL_DB + 60 * np.log10(plan) - env[near]
        print(f"at {boundary} s: at most {below.max():.2f} dB below the plan")
        assert below.max() < 1.5  # a restart dipped 15-45 dB here for about 1.5 s


def fade_steps_db(take: Take, floor_db: float = -40.0) -> tuple[float, float]:
    """(largest level step between consecutive 20 ms windows both above `floor_db` of the
    level scale, loudest window) in dB, as heard."""
    env = np.maximum(envelope_db(take.audio, take.rate, HOP_S), -200.0) - FULL_DB  # 0: 100 %
    above = (env[:-1] > floor_db) & (env[1:] > floor_db)
    return float(np.abs(np.diff(env))[above].max()), float(env.max())


def fade(seconds: float, low: float, high: float) -> dict[str, Any]:
    """A linear fade over `seconds`, in a phase that goes on (its end fades out)."""
    return {
        "name": "fade",
        "limits": {"max_level": "60%"},
        "defaults": {"crossfade": "0.5s"},
        "phases": [
            {
                "id": "fade",
                "duration": "1m",
                "music": "tone",
                "level": {"from": f"{low:.2%}", "to": f"{high:.2%}", "over": f"{seconds}s"},
            }
        ],
    }


def until(take: Take, t: float) -> Take:
    """The take up to session time t (the rest is the stop's fade-out)."""
    return replace(take, audio=take.audio[: round((t - take.t0) * take.rate)])


def test_a_slow_fade_moves_in_steps_of_at_most_half_a_db_and_never_passes_the_cap(
    pulse: PulseCapture, tmp_path: Path
) -> None:
    """A 20 s fade of a steady tone from 5 % to 60 % (the cap): heard in 20 ms windows,
    no step above -40 dB is larger than 0.5 dB. libVLC's integer volume alone fails the
    same check on 4 s of the same fade (from 6.2 s, 22 % to 33 %: a volume step is
    0.8-1.2 dB there, and a window that splits one still sees more than half of it); its
    first 0.6 s, the track fading in, is left out."""
    tone = write_tone(tmp_path / "tone.flac", freq=500.0, seconds=30.0, amplitude=AMPLITUDE)
    take = Studio(pulse).play(fade(20.0, 0.05, 0.60), {"tone": [tone]}, 20.5)
    assert take.of_type("error") == []
    step, loudest = fade_steps_db(until(take, 20.5))
    print(f"fine gain: largest step above -40 dB {step:.2f} dB, loudest {loudest:.2f} dB")
    assert step <= 0.5
    assert loudest <= 60 * math.log10(0.60) + 0.1  # the cap, 60 %: -13.3 dB
    assert loudest >= 60 * math.log10(0.60) - 0.5  # and the fade reached it

    slope = (0.60 - 0.05) / 20.0
    low, high = 0.05 + 6.2 * slope, 0.05 + 10.2 * slope
    coarse = Studio(pulse, fine=False).play(fade(4.0, low, high), {"tone": [tone]}, 4.0)
    kept = until(coarse, 4.0)
    step, _ = fade_steps_db(replace(kept, audio=kept.audio[round(0.6 * kept.rate) :]))
    print(f"integer volume: largest step above -40 dB {step:.2f} dB")
    assert step > 0.5
