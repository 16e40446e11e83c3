"""The CLI's one error road: every user error is its message on stderr and exit 2, never a
traceback; anything else (a bug) keeps its traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from setandsetting import __version__
from setandsetting.cli import main
from setandsetting.cli import plan as plan_command
from setandsetting.cli.common import CommandError, user_error
from setandsetting.core.problems import FormatError, Problem
from setandsetting.journal.store import JournalError, UnknownSession
from setandsetting.room.errors import EditError, NotFound, RoomError
from setandsetting.room.lock import DAEMON_FILE
from tests.support.daemon import free_port

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "profiles" / "demo.yaml"
NO_DAEMON = "the room daemon is not running at {url} ([Errno 111] Connection refused); start it "
NO_DAEMON += "with `setandsetting serve`\n"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port bound but never listened on: no daemon can answer there."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def test_user_errors_are_their_message_and_a_bug_is_none() -> None:
    problems = [Problem("p.yaml", 4, 15, ("phases", 0), "bad"), Problem("p.yaml", 6, 1, (), "x")]
    assert user_error(CommandError("--speed: no")) == "--speed: no"
    assert user_error(FormatError(problems)) == "p.yaml:4:15: phases[0]: bad\np.yaml:6:1: x"
    assert user_error(RoomError("refused")) == "refused"
    assert user_error(EditError("'x' is not a slot")) == "'x' is not a slot"
    assert user_error(NotFound("no profile 'x'")) == "no profile 'x'"
    assert user_error(JournalError("db: is locked")) == "db: is locked"
    assert user_error(UnknownSession("db: no session 'x'")) == "db: no session 'x'"
    assert user_error(ValueError("deep inside")) is None
    assert user_error(FileNotFoundError("deep inside")) is None


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_args: object) -> int:
        raise ValueError("an internal bug")

    monkeypatch.setattr(plan_command, "run", broken)
    with pytest.raises(ValueError, match="an internal bug"):
        main(["plan", str(DEMO), "--patient", "P-1"])


def test_a_bad_argument_is_argparse_usage_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["plan", str(DEMO)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "setandsetting plan: error: the following arguments are required: --patient"
    )


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["plan", str(DEMO), "--patient", "../x"], "--patient: '../x' is not a patient ID"),
        (["rehearse", str(DEMO), "--patient", "P-1", "--speed", "-1"], "--speed: must be 0"),
        (["plan", "nope.yaml", "--patient", "P-1"], "no profile 'nope.yaml': no such file"),
        (["rehearse", str(DEMO), "--patient", "P-1", "--start", "soon"], "--start: 'soon' is"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith(line) and err.count("\n") == 1


def test_a_broken_profile_is_its_file_line_col_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nphases:\n  - id: a\n    duration: 1m\n    colour: red\n  - id: a\n")
    code, out, err = _run(capsys, "rehearse", str(bad), "--patient", "P-1")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{bad}:5:5: phases[0].colour: unknown key `colour` (allowed here: id, name, duration, "
        "extendable, music, level, fade_out, not_before, checkins, cues)",
        f"{bad}:6:5: phases[1]: missing required key `duration`",
    ]


def test_a_broken_room_yaml_is_every_problem_for_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused before the room is locked or anything is listened on or written."""
    (tmp_path / "room.yaml").write_text("server: {port: 0}\nosc: {targets: {a: nowhere}}\n")
    code, out, err = _run(capsys, "--room", str(tmp_path), "serve")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{tmp_path / 'room.yaml'}:1:16: server.port: should be greater than or equal to 1 (got 0)",
        f"{tmp_path / 'room.yaml'}:2:16: osc.targets: OSC target 'a': write host:port, e.g. "
        "127.0.0.1:7700",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["room.yaml"]


def test_a_room_error_is_its_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--room", str(tmp_path), "playlist", "add", "P-1", "calm", "/etc/passwd"]
    argv.append("--new-patient")
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err == "room.yaml names no library folder\n"
    assert list(tmp_path.iterdir()) == []


def test_a_journal_error_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "sessions.db"
    db.write_bytes(b"not a journal")
    code, out, err = _run(
        capsys, "--room", str(tmp_path), "rehearse", str(DEMO), "--patient", "P-1", "--journal"
    )
    assert code == 2 and "session ended" in out
    assert err == (
        "warning: no patient P-1 in this room: the default music and no avoid list; check the "
        "ID unless this is a new patient\n"
        f"{db}: is not a SQLite database, so not a journal; it was left untouched: move it "
        "aside to start a new one\n"
    )
    assert db.read_bytes() == b"not a journal"


CONTROLS = [["status"], ["pause"], ["note", "calm"], ["ack"], ["level", "-6dB"]]


def _holder(room: Path, pid: int, url: str | None, command: str = "serve") -> None:
    """A `.room.daemon` file as a daemon writes it."""
    data = {"pid": pid, "command": command, "url": url}
    (room / DAEMON_FILE).write_text(json.dumps(data) + "\n")


@pytest.mark.parametrize("argv", CONTROLS)
def test_no_daemon_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """No daemon ever ran here (room.yaml's port is not looked at), or the one that did was
    killed and its file outlived it."""
    (tmp_path / "room.yaml").write_text("server: {port: 8700}\n")
    line = f"the room daemon is not running in {tmp_path}; start it with `setandsetting serve`\n"
    assert _run(capsys, "--room", str(tmp_path), *argv) == (2, "", line)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    _holder(tmp_path, int(dead.stdout), "http://127.0.0.1:8700")
    assert _run(capsys, "--room", str(tmp_path), *argv) == (2, "", line)


@pytest.mark.parametrize("argv", CONTROLS)
def test_a_daemon_that_does_not_answer_is_one_line(
    tmp_path: Path, refused_port: int, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    url = f"http://127.0.0.1:{refused_port}"
    _holder(tmp_path, os.getpid(), url)  # a live PID whose address refuses connections
    assert _run(capsys, "--room", str(tmp_path), *argv) == (2, "", NO_DAEMON.format(url=url))


@pytest.mark.parametrize(
    ("command", "line"),
    [
        (
            "run",
            "this room is run by `setandsetting run` (PID {pid}) in a terminal, which takes "
            "no commands from here: steer it there, or use `setandsetting serve`",
        ),
        ("serve", "the room daemon (PID {pid}) is starting; try again"),
    ],
)
def test_a_daemon_without_an_address_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, line: str
) -> None:
    _holder(tmp_path, os.getpid(), None, command)
    expected = (2, "", line.format(pid=os.getpid()) + "\n")
    assert _run(capsys, "--room", str(tmp_path), "status") == expected


@pytest.mark.parametrize("url", ["notaurl", "ftp://127.0.0.1:8700", "http://", "http://h:99999"])
def test_a_bad_url_is_one_line(capsys: pytest.CaptureFixture[str], url: str) -> None:
    line = (
        f"--url {url}: not a daemon's address; write http://HOST:PORT, e.g. http://127.0.0.1:8700"
    )
    assert _run(capsys, "status", "--url", url) == (2, "", line + "\n")


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_a_port_out_of_range_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], port: str
) -> None:
    """Refused before the room is locked or anything written."""
    line = f"--port {port}: a port is a number from 0 to 65535\n"
    assert _run(capsys, "--room", str(tmp_path), "serve", "--port", port) == (2, "", line)
    assert list(tmp_path.iterdir()) == []


def test_version_is_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"setandsetting {__version__}\n"


def test_serve_with_an_unknown_profile_name_is_one_line(tmp_path: Path) -> None:
    """A RoomError (or, before the room folder had one, FileNotFoundError) from a real daemon
    process: `serve` sets signal handlers, which a test must not do to pytest itself."""
    (tmp_path / "profiles").mkdir()
    (tmp_path / ".room-token").write_text("a-room-token\n")  # else its creation is printed
    argv = [sys.executable, "-m", "setandsetting", "--room", str(tmp_path), "serve"]
    argv += ["--port", str(free_port()), "--start", "nope", "--patient", "P-1"]
    env = {**os.environ, "SDL_AUDIODRIVER": "dummy"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("--start: ") and "'nope'" in done.stderr
    assert done.stderr.count("\n") == 1
