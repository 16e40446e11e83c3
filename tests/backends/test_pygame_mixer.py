"""The mixer process's own parts: when an output opens and closes, what it says."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from setandsetting.backends import pygame_mixer
from setandsetting.backends.pygame_mixer import (
    KEEP_OPEN_S,
    QUIET_CLOSE_S,
    RETRY_OPEN_S,
    MixerOutput,
    OnDemandMixer,
)
from tests.backends.test_pygame_chimes import _streams_become
from tests.support import pulse as pulse_support
from tests.support.audio_analysis import rms_db
from tests.support.pulse import PulseCapture

pulse = pulse_support.pulse  # the shared fixture, by its name
MIXER = [sys.executable, "-m", pygame_mixer.__name__]


@pytest.mark.audio
def test_the_mixer_sleeps_between_chimes_and_wakes_when_one_is_near(
    pulse: PulseCapture,
) -> None:
    """An open SDL device writes silence all the time (~1 % of a core): the mixer closes
    when quiet and no chime is near, and is open again for the next one."""
    now = [0.0]
    said: list[tuple[str, str]] = []
    mixer = OnDemandMixer(
        MixerOutput(None, "test chimes"), "patient", lambda *s: said.append(s), lambda: now[0]
    )
    try:
        assert mixer.ready()
        assert _streams_become(pulse, 1) == 1
        mixer.poll()
        assert pulse.streams() == 1  # kept open a while after opening
        now[0] = KEEP_OPEN_S
        mixer.poll()
        assert _streams_become(pulse, 0) == 0
        mixer.ready()  # a prepare
        assert _streams_become(pulse, 1) == 1
        pulse.start_recording()
        mixer.play("bowl", 0.8)
        time.sleep(0.3)
        now[0] += 2 * KEEP_OPEN_S  # long past its keep time, but the bowl still rings
        mixer.poll()
        assert pulse.streams() == 1
        assert rms_db(pulse.stop_recording()) > -40
        while mixer._output.busy():
            time.sleep(0.1)
        mixer.poll()  # quiet now: closes only after QUIET_CLOSE_S more
        assert pulse.streams() == 1
        now[0] += QUIET_CLOSE_S
        mixer.poll()
        assert _streams_become(pulse, 0) == 0
        pulse.start_recording()
        mixer.play("wood", 0.8)  # nobody prepared it: opens on demand, heard
        time.sleep(0.5)
        assert rms_db(pulse.stop_recording()) > -40
    finally:
        mixer.close()
    assert said == []


def test_a_lost_device_is_said_once_tried_again_later_and_its_return_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")
    now = [0.0]
    said: list[tuple[str, str]] = []
    mixer = OnDemandMixer(
        MixerOutput(None, "test chimes"), "staff", lambda *s: said.append(s), lambda: now[0]
    )
    tries: list[float] = []
    real_open = MixerOutput.open

    def counted(output: MixerOutput) -> None:
        tries.append(now[0])
        real_open(output)

    monkeypatch.setattr(MixerOutput, "open", counted)
    assert not mixer.ready()
    now[0] = RETRY_OPEN_S - 0.1
    mixer.play("wood", 0.5)  # too soon: not tried, silent, nothing more said
    assert tries == [0.0]
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    now[0] = RETRY_OPEN_S
    assert mixer.ready()
    mixer.close()
    assert tries == [0.0, RETRY_OPEN_S]
    assert [kind for kind, _ in said] == ["device_lost", "device_back"]
    assert said[0][1].startswith("staff cannot open the default audio device")
    assert said[0][1].endswith("; staff chimes are silent")
    assert said[1][1] == "the staff chimes' device opens again"


def test_the_process_answers_ready_then_reports_a_bad_request_and_ends_with_stdin() -> None:
    proc = subprocess.run(
        [*MIXER, "--device", "default", "--output", "patient_chimes"],
        input='not json\n{"sound": "wood"}\n',
        capture_output=True,
        text=True,
        timeout=30,
        env={"SDL_AUDIODRIVER": "dummy", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    said = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0
    assert [m["kind"] for m in said] == ["ready", "error", "error"]
    assert said[1]["message"] == "chimes: bad request b'not json'"


def test_the_process_refuses_an_unknown_output() -> None:
    proc = subprocess.run(
        [*MIXER, "--device", "default", "--output", "music"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "--output patient_chimes|staff_chimes" in proc.stdout
