"""deploy/setandsetting-room.service: a unit systemd accepts, running `serve` in the room
folder as its own user, with the sound server's environment, stopped by SIGTERM with time
for the fade, restarted when it fails."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from setandsetting.cli.common import EXIT_BAD_INPUT
from setandsetting.cli.serve import SHUTDOWN_GRACE_S
from setandsetting.engine.conductor import END_FADE_S

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "deploy" / "setandsetting-room.service"
INSTALLED = "/opt/setandsetting/.venv/bin/setandsetting"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_serves_the_room_and_is_restarted_when_it_fails() -> None:
    unit = _unit()
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    assert service["Type"] == "simple"
    assert service["ExecStart"] == f"{INSTALLED} serve"
    assert service["WorkingDirectory"] == "/srv/setandsetting/room"
    assert service["User"] == service["Group"] == "setandsetting"
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == str(EXIT_BAD_INPUT)  # a refusal stays one
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 2 * (SHUTDOWN_GRACE_S + END_FADE_S)
    env = dict(pair.split("=", 1) for pair in service["Environment"].split())
    assert env["XDG_RUNTIME_DIR"] == "/run/user/990"
    assert env["PULSE_SERVER"] == "unix:/run/user/990/pulse/native"
    assert env["SDL_AUDIODRIVER"] == "pulseaudio"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """No unknown key, no bad value. Its ExecStart exists only where it is installed, so
    the copy verified here points at this Python's own `setandsetting` script."""
    script = Path(sys.executable).parent / "setandsetting"
    text = UNIT.read_text(encoding="utf-8")
    assert text.count(INSTALLED) == 1 and script.is_file()
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(INSTALLED, str(script)), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
