"""VlcMusic through the real audio path: libVLC --aout=pulse into a captured pipe sink."""

from __future__ import annotations

import math
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from setandsetting.backends.base import BackendReport
from setandsetting.backends.pulse import pactl_json
from setandsetting.backends.vlc_music import VlcMusic
from tests.support.audio_analysis import (
    dominant_freq,
    envelope_db,
    first_onset,
    rms_db,
    silent_gaps,
    write_tone,
    write_tones,
)
from tests.support.pulse import PulseCapture, pulse

pytestmark = pytest.mark.audio
__all__ = ["pulse"]  # the fixture is used by name

HOP_S = 0.02


class Reports:
    """The report callback: called from libVLC threads, read by the test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[BackendReport] = []

    def __call__(self, report: BackendReport) -> None:
        with self._lock:
            self.items.append(report)

    def kinds(self) -> list[str]:
        with self._lock:
            return [r.kind for r in self.items]


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def music(pulse: PulseCapture, reports: Reports) -> Iterator[VlcMusic]:
    backend = VlcMusic(reports, aout="pulse")
    try:
        yield backend
    finally:
        backend.close()


def run_for(music: VlcMusic, seconds: float, step: Callable[[float], None] | None = None) -> None:
    """Drive the backend like the engine thread does: poll (and `step(t)`) at 25 Hz."""
    t0 = time.monotonic()
    while (t := time.monotonic() - t0) < seconds:
        if step is not None:
            step(t)
        music.poll()
        time.sleep(0.04)


def wait_for(music: VlcMusic, reports: Reports, kinds: list[str], timeout: float) -> float:
    """Seconds until `kinds` have all been reported, in order; fails after `timeout`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        got = reports.kinds()
        it = iter(got)
        if all(k in it for k in kinds):
            return time.monotonic() - t0
        music.poll()
        time.sleep(0.02)
    pytest.fail(f"expected reports {kinds} within {timeout} s, got {reports.kinds()}")


def full_scale_db(music: VlcMusic, pulse: PulseCapture, tone: Path) -> float:
    """The tone's RMS at level 100 %, measured through the same path."""
    music.play(0, tone, 0.0, None)
    music.set_level(0, 1.0)
    pulse.start_recording()
    run_for(music, 0.8)
    audio = pulse.stop_recording()
    music.stop(0)
    env = envelope_db(audio, pulse.rate, HOP_S)
    steady = env[env > env.max() - 3.0]
    assert len(steady) > 10, "the reference tone was not heard"
    return float(np.median(steady))


def test_envelope_follows_a_level_ramp_within_1_db(
    music: VlcMusic, pulse: PulseCapture, tmp_path: Path
) -> None:
    tone = write_tone(tmp_path / "tone.flac", seconds=8.0)
    ref = full_scale_db(music, pulse, tone)
    assert abs(ref - 20 * math.log10(0.5 / math.sqrt(2))) < 0.5  # 0.5-amplitude sine

    cap, low, high, hold, ramp = 0.7, 0.2, 0.7, 0.5, 4.0

    def planned(t: float) -> float:
        return low + (high - low) * min(1.0, max(0.0, (t - hold) / ramp))

    pulse.start_recording()
    t_rec = time.monotonic()
    music.play(0, tone, 0.0, None)
    t_play = time.monotonic()

    # The level now, and the level planned for when the fine trim is heard (lead_s on).
    def step(t: float) -> None:
        music.set_level(0, planned(t), planned(t + music.lead_s))

    run_for(music, hold + ramp + 0.5, step)
    audio = pulse.stop_recording()

    env = envelope_db(audio, pulse.rate, HOP_S)
    assert env.max() <= ref + 60 * math.log10(cap) + 0.3
    centres = t_rec + (np.arange(len(env)) + 0.5) * HOP_S - t_play  # seconds after play()
    best: tuple[float, float] | None = None
    for latency in np.arange(0.0, 0.6, 0.005):  # the output's constant delay
        t = centres - latency
        on_ramp = (t > hold + 0.1) & (t < hold + ramp - 0.1)
        want = ref + 60 * np.log10([planned(x) for x in t[on_ramp]])
        err = float(np.sqrt(np.mean((env[on_ramp] - want) ** 2)))
        if best is None or err < best[0]:
            best = (err, float(latency))
    assert best is not None
    print(f"envelope RMS error over the ramp: {best[0]:.2f} dB (latency {best[1] * 1000:.0f} ms)")
    assert best[0] < 1.0


def test_a_track_starts_silent_even_after_a_loud_one(
    music: VlcMusic, pulse: PulseCapture, tmp_path: Path
) -> None:
    tone = write_tone(tmp_path / "tone.flac", seconds=4.0)
    ref = full_scale_db(music, pulse, tone)  # leaves voice 0 at 100 %
    run_for(music, 0.4)  # let the loud track's tail leave the sound server
    pulse.start_recording()
    music.play(0, tone, 0.0, None)
    run_for(music, 0.5)  # nothing may be heard before the engine raises the level
    silent_part = pulse.stop_recording()
    assert rms_db(silent_part) < -80.0

    pulse.start_recording()
    music.set_level(0, 0.3)
    run_for(music, 0.6)
    audio = pulse.stop_recording()
    onset = first_onset(audio, threshold_db=-60.0)
    assert onset is not None
    first = envelope_db(audio[onset : onset + round(0.1 * pulse.rate)], pulse.rate, HOP_S)
    assert first.max() <= ref + 60 * math.log10(0.3) + 0.3


def test_a_crossfade_has_no_gap(
    music: VlcMusic, pulse: PulseCapture, reports: Reports, tmp_path: Path
) -> None:
    a = write_tone(tmp_path / "a.flac", freq=440.0, seconds=5.0)
    b = write_tone(tmp_path / "b.flac", freq=660.0, seconds=5.0)
    pulse.start_recording()
    music.play(0, a, 0.0, None)
    music.set_level(0, 0.6)
    run_for(music, 0.7)
    music.play(1, b, 0.0, None)

    def fade(t: float) -> None:
        x = min(1.0, t / 3.0)
        music.set_level(0, 0.6 * (1 - x))
        music.set_level(1, 0.6 * x)

    run_for(music, 3.3, fade)
    audio = pulse.stop_recording()
    onset = first_onset(audio, threshold_db=-60.0)
    assert onset is not None
    heard = audio[onset:]
    assert len(heard) > 3.5 * pulse.rate
    assert silent_gaps(heard, pulse.rate, min_ms=50.0) == []
    assert reports.kinds() == []


def test_a_missing_file_is_reported_at_once(music: VlcMusic, reports: Reports) -> None:
    music.play(1, Path("/nonexistent/track.flac"), 0.0, None)
    assert wait_for(music, reports, ["error"], timeout=2.0) < 2.0
    assert reports.items[0].voice == 1
    assert "not found" in reports.items[0].message
    assert music.position(1) is None


def test_a_corrupt_file_is_reported(music: VlcMusic, reports: Reports, tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.flac"
    bad.write_bytes(np.random.default_rng(7).bytes(200_000))
    music.play(0, bad, 0.0, None)
    wait_for(music, reports, ["error"], timeout=4.0)
    assert reports.kinds() == ["error"]
    assert reports.items[0].voice == 0


def test_trims_start_and_end_in_the_file(
    music: VlcMusic, pulse: PulseCapture, reports: Reports, tmp_path: Path
) -> None:
    track = write_tones(tmp_path / "three.flac", [(300.0, 1.0), (600.0, 1.5), (1200.0, 1.0)])
    pulse.start_recording()
    music.play(0, track, 1.0, 2.5)
    music.set_level(0, 1.0)
    positions = []
    t0 = time.monotonic()
    while "ended" not in reports.kinds() and time.monotonic() - t0 < 4.0:
        if (p := music.position(0)) is not None:
            positions.append(p)
        time.sleep(0.04)
    run_for(music, 0.3)
    audio = pulse.stop_recording()
    assert reports.kinds() == ["ended"]
    assert min(positions) >= 1.0 and max(positions) <= 2.6
    env = envelope_db(audio, pulse.rate, HOP_S)
    loud = np.flatnonzero(env > -40.0)
    heard_s = (loud[-1] - loud[0] + 1) * HOP_S
    assert abs(heard_s - 1.5) < 0.15
    middle = audio[loud[0] * round(HOP_S * pulse.rate) :][: pulse.rate]
    assert abs(dominant_freq(middle, pulse.rate) - 600.0) < 5.0


def test_playback_recovers_when_the_sound_server_restarts(
    music: VlcMusic, pulse: PulseCapture, reports: Reports, tmp_path: Path
) -> None:
    tone = write_tone(tmp_path / "tone.flac", seconds=10.0)
    music.play(0, tone, 0.0, None)
    music.set_level(0, 0.5)
    run_for(music, 1.0)
    before = music.position(0)
    assert before is not None and before > 0.5
    pulse.restart()
    took = wait_for(music, reports, ["audio_fault", "audio_restored"], timeout=8.0)
    pulse.start_recording()
    run_for(music, 1.0)
    audio = pulse.stop_recording()
    after = music.position(0)
    print(f"recovered in {took:.1f} s at {before:.1f} s -> {after:.1f} s")
    assert after is not None and after > before
    assert "error" not in reports.kinds()
    env = envelope_db(audio, pulse.rate, HOP_S)
    level_db = 20 * math.log10(0.5 / math.sqrt(2)) + 60 * math.log10(0.5)
    assert np.median(env) == pytest.approx(level_db, abs=1.0)


def test_no_audio_device_means_a_silent_run_not_a_crash(
    reports: Reports, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'no-server'}")
    monkeypatch.setenv("ALSA_CONFIG_PATH", os.devnull)
    tone = write_tone(tmp_path / "tone.flac", seconds=1.0)
    music = VlcMusic(reports, aout="pulse")
    try:
        music.play(0, tone, 0.0, None)
        music.set_level(0, 0.5)
        wait_for(music, reports, ["audio_fault"], timeout=3.0)
        assert reports.items[0].data == {"output": "music", "cause": "libvlc"}
        assert reports.items[0].message.startswith("libVLC's audio output failed: ")
        assert music.position(0) is not None
    finally:
        music.close()


def test_a_named_output_libvlc_does_not_list_is_a_fault(
    pulse: PulseCapture, reports: Reports
) -> None:
    missing = VlcMusic(reports, output="no-such-sink", aout="pulse")
    missing.close()
    assert [(r.kind, r.data) for r in reports.items] == [
        ("audio_fault", {"output": "music", "cause": "device"})
    ]
    assert reports.items[0].message.startswith(
        "libVLC has no audio device 'no-such-sink' (it has: "
    )
    assert "capture" in reports.items[0].message  # what it has, to choose from
    reports.items.clear()
    VlcMusic(reports, output="capture", aout="pulse").close()  # the pipe sink: listed
    assert reports.items == []


def test_a_stream_the_server_mutes_is_a_fault_until_it_is_unmuted(
    music: VlcMusic, pulse: PulseCapture, reports: Reports, tmp_path: Path
) -> None:
    music.play(0, write_tone(tmp_path / "tone.flac", seconds=6.0), 0.0, None)
    music.set_level(0, 0.5)
    run_for(music, 1.0)
    streams = pactl_json("list", "sink-inputs")
    assert [s["properties"]["application.name"] for s in streams] == ["setandsetting music"]
    index = str(streams[0]["index"])
    subprocess.run(["pactl", "set-sink-input-mute", index, "1"], check=True, timeout=5)
    took = wait_for(music, reports, ["audio_fault"], timeout=2.0)
    assert (reports.items[0].message, reports.items[0].data) == (
        "the sound server has the music's stream muted",
        {"output": "music", "cause": "mute"},
    )
    print(f"muted stream said after {took:.2f} s")
    subprocess.run(["pactl", "set-sink-input-mute", index, "0"], check=True, timeout=5)
    wait_for(music, reports, ["audio_fault", "audio_restored"], timeout=2.0)
    assert reports.kinds() == ["audio_fault", "audio_restored"]
