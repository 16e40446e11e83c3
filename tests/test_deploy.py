"""deploy/: setandsetting-room.service, a unit systemd accepts, running `serve` in the room
folder as its own user, with the sound server's environment, stopped by SIGTERM with time
for the fade, restarted when it fails; setandsetting-backup.service and .timer, the
journal backed up nightly by the same user in the same room."""

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
BACKUP = REPO / "deploy" / "setandsetting-backup.service"
TIMER = REPO / "deploy" / "setandsetting-backup.timer"
INSTALLED = "/opt/setandsetting/.venv/bin/setandsetting"


def _unit(path: Path = UNIT) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(path.read_text(encoding="utf-8"))
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


def test_the_backup_runs_nightly_as_the_room_user_in_the_room() -> None:
    room, backup, timer = _unit()["Service"], _unit(BACKUP), _unit(TIMER)
    assert backup.sections() == ["Unit", "Service"]  # started by the timer, not at boot
    service = backup["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"] == f"{INSTALLED} log backup /var/backups/setandsetting"
    for key in ("User", "Group", "WorkingDirectory"):
        assert service[key] == room[key]
    assert service["UMask"] == "0077"
    assert timer.sections() == ["Unit", "Timer", "Install"]
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:00:00"
    assert timer["Timer"]["Persistent"] == "true"  # a night missed: at the next boot
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("units", [(UNIT,), (BACKUP, TIMER)], ids=["room", "backup"])
def test_systemd_accepts_the_units(tmp_path: Path, units: tuple[Path, ...]) -> None:
    """No unknown key, no bad value. ExecStart exists only where it is installed, so the
    copies verified here point at this Python's own `setandsetting` script."""
    script = Path(sys.executable).parent / "setandsetting"
    assert script.is_file()
    copies = []
    for unit in units:
        text = unit.read_text(encoding="utf-8")
        assert text.count(INSTALLED) == (unit.suffix == ".service")
        copies.append(tmp_path / unit.name)
        copies[-1].write_text(text.replace(INSTALLED, str(script)), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", *map(str, copies)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
