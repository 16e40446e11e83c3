"""`setandsetting test-sound` as a user runs it: a process of its own, a real sound server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pulse import PulseCapture, pulse

__all__ = ["pulse"]  # the fixture is used by name

HEARD = re.compile(r"^(music|patient_chimes): heard — -\d+\.\d dBFS on 'Unix FIFO sink .*'$")


def test_sound(room: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "setandsetting", "--room", str(room), "test-sound", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


test_sound.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.mark.audio
def test_a_working_server_is_heard_with_its_level_and_exit_0(
    pulse: PulseCapture, tmp_path: Path
) -> None:
    done = test_sound(tmp_path)
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["music", "patient_chimes"], done.stderr
    assert all(HEARD.match(line) for line in lines), lines
    levels = [float(re.findall(r"(-\d+\.\d) dBFS", line)[0]) for line in lines]
    assert levels == pytest.approx([-27.1, -27.1], abs=1.0)  # a 0.5 sine at level 50 %
    assert done.returncode == 0


@pytest.mark.audio
def test_a_staff_output_into_a_null_sink_is_silent_and_exit_2(
    pulse: PulseCapture, tmp_path: Path
) -> None:
    (tmp_path / "room.yaml").write_text("audio:\n  staff_chimes: Null Output\n")
    done = test_sound(tmp_path, "--output", "staff_chimes")
    said = (
        r"staff_chimes: silent — PulseAudio plays it into 'Null Output', a null sink: "
        r"no loudspeaker \(its monitor: -\d+\.\d dBFS\)\n"  # it played, into nothing
    )
    assert re.fullmatch(said, done.stdout), done.stdout
    assert done.returncode == 2


@pytest.mark.audio
def test_with_the_server_gone_every_output_is_missing_and_exit_2(
    pulse: PulseCapture, tmp_path: Path
) -> None:
    pulse.stop()
    done = test_sound(tmp_path)
    lines = done.stdout.splitlines()
    assert [line.split(" — ")[0] for line in lines] == [
        "music: missing",
        "patient_chimes: missing",
    ], done.stderr
    assert "PulseAudio" in lines[0] and "PulseAudio" in lines[1]
    assert done.returncode == 2


def test_an_output_the_room_does_not_configure_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = test_sound(tmp_path, "--output", "staff_chimes")
    assert done.stderr == (
        "room.yaml names no staff_chimes output (configured: music, patient_chimes)\n"
    )
    assert (done.stdout, done.returncode) == ("", 2)
