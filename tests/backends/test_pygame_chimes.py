"""Chimes through the real pygame.mixer.

SDL's disk driver writes exactly what the mixer produced (raw s16le, paced in real time);
with a file path as device name it writes to that path, so the patient and staff outputs
land in two files we can compare sample by sample.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from setandsetting.audio.synth import synthesize
from setandsetting.backends.base import BackendReport
from setandsetting.backends.pygame_chimes import PygameChimes
from setandsetting.backends.pygame_mixer import KEEP_OPEN_S, QUIET_CLOSE_S
from tests.support import pulse as pulse_support
from tests.support.audio_analysis import rms_db
from tests.support.pulse import PulseCapture


@pytest.fixture
def disk_driver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(tmp_path / "default.raw"))
    return tmp_path


def read_raw(path: Path) -> np.ndarray:
    return np.fromfile(path, np.int16).reshape(-1, 2)


def expected_pcm(name: str, level: float) -> np.ndarray:
    """What the backend must output: the synthesized sound at amplitude level**3."""
    return np.rint(synthesize(name) * round(level**3 * 32768)).astype(np.int16)


def find_exact(haystack: np.ndarray, needle: np.ndarray) -> list[int]:
    """Frame offsets where `needle` appears sample-exact in `haystack`."""
    first = np.nonzero(needle[:, 0])[0][0]
    hits = []
    for i in np.nonzero(haystack[:, 0] == needle[first, 0])[0]:
        start = i - first
        if start >= 0 and np.array_equal(haystack[start : start + len(needle)], needle):
            hits.append(int(start))
    return hits


def runs(pcm: np.ndarray, gap_frames: int = 4410) -> list[tuple[int, int]]:
    """(start, peak) of each burst of sound separated by at least `gap_frames` of zeros."""
    loud = np.nonzero(np.abs(pcm).max(axis=1))[0]
    if not len(loud):
        return []
    breaks = np.nonzero(np.diff(loud) > gap_frames)[0]
    starts = np.concatenate([[loud[0]], loud[breaks + 1]])
    ends = np.concatenate([loud[breaks], [loud[-1]]])
    return [(int(a), int(np.abs(pcm[a : b + 1]).max())) for a, b in zip(starts, ends, strict=True)]


def test_bowl_comes_out_sample_exact_at_the_level_amplitude(disk_driver: Path) -> None:
    out = disk_driver / "patient.raw"
    reports: list[BackendReport] = []
    chimes = PygameChimes(reports.append, patient_device=str(out))
    try:
        assert chimes.duration("bowl") == 6.0
        time.sleep(0.2)
        chimes.play("bowl", 0.5, "patient")
        time.sleep(1.0)
    finally:
        chimes.close()
    assert reports == []
    pcm = read_raw(out)
    bowl = expected_pcm("bowl", 0.5)  # amplitude 0.125: peaks near 0.125 * -1 dBFS
    start = find_exact(pcm, bowl[:4410])
    assert len(start) == 1
    played = pcm[start[0] :]
    assert len(played) > 30000  # most of the second we waited
    assert np.array_equal(played, bowl[: len(played)])


def test_audiences_go_to_their_own_devices(disk_driver: Path) -> None:
    patient, staff = disk_driver / "patient.raw", disk_driver / "staff.raw"
    reports: list[BackendReport] = []
    chimes = PygameChimes(reports.append, patient_device=str(patient), staff_device=str(staff))
    try:
        time.sleep(1.0)  # the staff child imports pygame and opens its device
        for level, audience in ((0.5, "patient"), (0.6, "staff"), (0.7, "both")):
            chimes.play("wood", level, audience)
            time.sleep(0.6)
    finally:
        chimes.close()
    assert reports == []
    peak = {lv: int(np.abs(expected_pcm("wood", lv)).max()) for lv in (0.5, 0.6, 0.7)}
    assert [p for _, p in runs(read_raw(patient))] == [peak[0.5], peak[0.7]]
    assert [p for _, p in runs(read_raw(staff))] == [peak[0.6], peak[0.7]]
    for out, levels in ((patient, (0.5, 0.7)), (staff, (0.6, 0.7))):
        for lv in levels:
            assert len(find_exact(read_raw(out), expected_pcm("wood", lv))) == 1


def test_without_a_staff_device_staff_chimes_stay_off_the_patient_output(
    disk_driver: Path,
) -> None:
    out = disk_driver / "patient.raw"
    chimes = PygameChimes(lambda r: None, patient_device=str(out))
    try:
        chimes.play("wood", 0.8, "staff")
        time.sleep(0.3)
        chimes.play("wood", 0.15, "both")  # quiet, yet well above SDL's 128 volume steps
        time.sleep(0.6)
    finally:
        chimes.close()
    assert [p for _, p in runs(read_raw(out))] == [int(np.abs(expected_pcm("wood", 0.15)).max())]


def test_a_sound_file_relative_to_the_profile_plays(disk_driver: Path) -> None:
    sounds = disk_driver / "profiles"
    sounds.mkdir()
    wood = synthesize("wood")
    soundfile.write(sounds / "knock.wav", wood, 44100, subtype="PCM_16")
    out = disk_driver / "patient.raw"
    chimes = PygameChimes(lambda r: None, patient_device=str(out), sounds_dir=sounds)
    try:
        assert chimes.duration("knock.wav") == pytest.approx(0.4)
        chimes.play("knock.wav", 1.0, "patient")
        time.sleep(0.6)
    finally:
        chimes.close()
    file_pcm = soundfile.read(sounds / "knock.wav", dtype="int16")[0]
    assert len(find_exact(read_raw(out), file_pcm)) == 1


def test_a_missing_sound_file_is_reported_not_raised(disk_driver: Path) -> None:
    reports: list[BackendReport] = []
    chimes = PygameChimes(reports.append, patient_device=str(disk_driver / "p.raw"))
    try:
        chimes.play(disk_driver / "gone.wav", 0.5, "patient")
        assert chimes.duration(disk_driver / "gone.wav") == 0.0
    finally:
        chimes.close()
    assert [(r.kind, "gone.wav" in r.message) for r in reports] == [("error", True)]


def test_no_audio_device_reports_and_runs_silently(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")
    reports: list[BackendReport] = []
    chimes = PygameChimes(reports.append)
    chimes.play("bowl", 0.5, "both")
    assert chimes.duration("bell") == 3.5
    chimes.close()
    assert [(r.source, r.kind, r.data) for r in reports] == [
        ("chimes", "audio_fault", {"output": "patient_chimes", "cause": "sdl"})
    ]
    assert "chimes are silent" in reports[0].message


def test_a_staff_device_that_cannot_open_is_reported(disk_driver: Path) -> None:
    reports: list[BackendReport] = []
    staff = str(disk_driver / "no-such-dir" / "staff.raw")
    chimes = PygameChimes(
        reports.append, patient_device=str(disk_driver / "p.raw"), staff_device=staff
    )
    try:
        deadline = time.monotonic() + 10
        while not reports and time.monotonic() < deadline:
            time.sleep(0.05)
        chimes.play("wood", 0.5, "both")  # the patient still hears it; nothing raises
    finally:
        chimes.close()
    assert (reports[0].kind, reports[0].data) == (
        "audio_fault",
        {"output": "staff_chimes", "cause": "sdl"},
    )
    assert "staff" in reports[0].message and "no-such-dir" in reports[0].message


def test_an_unknown_audience_is_a_clear_error(disk_driver: Path) -> None:
    chimes = PygameChimes(lambda r: None, patient_device=str(disk_driver / "p.raw"))
    try:
        with pytest.raises(ValueError, match="expected patient, staff or both"):
            chimes.play("bowl", 0.5, "everyone")
    finally:
        chimes.close()


# --- Through PulseAudio: onsets on time ------------------------------------------------

pulse = pulse_support.pulse  # the shared fixture (tests/support/pulse.py), by its name


def play_on_schedule(chimes: PygameChimes, offsets: list[float], level: float) -> None:
    """Play a wood block at each offset (s) from now, from one timer thread, as the
    engine's device thread would: sleep to just before the moment, then spin."""

    def run() -> None:
        t0 = time.monotonic()
        for offset in offsets:
            while (left := t0 + offset - time.monotonic()) > 0.002:
                time.sleep(left - 0.002)
            while time.monotonic() < t0 + offset:
                pass
            chimes.play("wood", level, "patient")

    timer = threading.Thread(target=run, name="engine")
    timer.start()
    timer.join()


def record_schedule(
    capture: PulseCapture, offsets: list[float], level: float
) -> tuple[np.ndarray, list[BackendReport]]:
    """Open PygameChimes on the pulse server (env already set), play wood blocks at
    `offsets` while recording; the captured audio and whatever the backend reported."""
    reports: list[BackendReport] = []
    chimes = PygameChimes(reports.append)
    try:
        time.sleep(0.3)
        capture.start_recording()
        play_on_schedule(chimes, offsets, level)
        time.sleep(0.6)
        return capture.stop_recording(), reports
    finally:
        chimes.close()


def onsets(pcm: np.ndarray, rate: int, threshold: float = 0.01) -> list[float]:
    """Seconds at which sound starts after at least 50 ms of quiet."""
    loud = np.nonzero(np.abs(pcm).max(axis=1) > threshold)[0]
    if not len(loud):
        return []
    starts = np.concatenate([[loud[0]], loud[1:][np.diff(loud) > rate // 20]])
    return [float(s) / rate for s in starts]


def onset_errors_ms(planned: list[float], found: list[float]) -> list[float]:
    """Each onset's error against plan, both measured from their first (latency cancels)."""
    return [
        1000.0 * ((f - found[0]) - (p - planned[0])) for p, f in zip(planned, found, strict=True)
    ]


@pytest.mark.audio
def test_chimes_land_on_plan_through_pulseaudio(pulse: PulseCapture) -> None:
    planned = [0.2 + 0.5 * i for i in range(8)]
    pcm, reports = record_schedule(pulse, planned, 0.8)
    assert reports == []
    found = onsets(pcm, pulse.rate)
    assert len(found) == len(planned)  # each chime exactly once
    errors = onset_errors_ms(planned, found)
    assert max(abs(e) for e in errors) <= 30.0, errors
    # And at the level's amplitude: wood's peak is -1 dBFS, times 0.8**3.
    assert np.abs(pcm).max() == pytest.approx(0.8**3 * 10 ** (-1 / 20), rel=0.01)


def _streams_become(capture: PulseCapture, count: int, within: float = 2.0) -> int:
    deadline = time.monotonic() + within
    while (found := capture.streams()) != count and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


@pytest.mark.audio
def test_the_mixer_process_opens_the_device_for_a_chime_and_closes_it_after(
    pulse: PulseCapture,
) -> None:
    """The patient's mixer is open at the start (a missing card is said then), closes when
    quiet (tests/backends/test_pygame_mixer.py pins when) and opens for a prepare."""
    reports: list[BackendReport] = []
    chimes = PygameChimes(reports.append)
    try:
        assert pulse.streams() == 1  # ready: the device was tried before the constructor returned
        assert _streams_become(pulse, 0, KEEP_OPEN_S + QUIET_CLOSE_S + 1.0) == 0
        chimes.prepare("staff")  # no staff device here: web UI only, nothing to open
        time.sleep(0.2)
        assert pulse.streams() == 0
        chimes.prepare("patient")
        assert _streams_become(pulse, 1) == 1
        pulse.start_recording()
        chimes.play("wood", 0.8, "patient")
        time.sleep(0.5)
        assert rms_db(pulse.stop_recording()) > -40
    finally:
        chimes.close()
    assert reports == []
