"""`setandsetting doctor` in real rooms: a real PulseAudio server (tones heard on its pipe
sink's monitor), a real JACK server with the room's MIDI port, a real OSC listener and a
real journal; then the same room with one thing wrong: each is named with its fix, exit 1."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from setandsetting.cli import main
from tests.journal.synthetic import make_room
from tests.support.jack import Jack, VirtualInput, jack
from tests.support.journal_rows import corrupt
from tests.support.pulse import PulseCapture, pulse
from tests.support.session_room import make_room as make_session_room

__all__ = ["jack", "pulse"]  # fixtures, used by name

HEARD = r"-\d+\.\d dBFS on 'Unix FIFO sink [^']*'"


@pytest.fixture
def room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A good room: its MIDI port offered (JACK), its OSC target listened on, a journal,
    and a clock that timedatectl calls synchronised (this machine's may not be: a stand-in
    says so, the real one is judged in tests/room/test_checkup.py)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "timedatectl").write_text("#!/bin/sh\necho yes\n")
    (bin_dir / "timedatectl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    osc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    osc.bind(("127.0.0.1", 0))
    lights = VirtualInput("Lights in", client="dimmer")
    make_session_room(tmp_path / "room")  # a profile and its slot's tracks: validate passes
    root, _ = make_room(tmp_path / "room")
    (root / "room.yaml").write_text(
        "midi:\n  outputs:\n    lights: dimmer\n"
        f"osc:\n  targets:\n    scene: 127.0.0.1:{osc.getsockname()[1]}\n"
    )
    try:
        yield root
    finally:
        lights.close()
        osc.close()


def doctor(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["--room", str(root), "doctor", "--midi-api", "UNIX_JACK"])
    out, err = capsys.readouterr()
    assert err == ""
    return code, out.splitlines()


def one_problem(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, list[str]]:
    """Doctor's one FAIL line (exit 1, `1 problem`), and all it said."""
    code, lines = doctor(root, capsys)
    failed = [line for line in lines if line.startswith("FAIL")]
    assert (code, len(failed), lines[-1]) == (1, 1, "1 problem"), lines
    return failed[0], lines


@pytest.mark.audio
@pytest.mark.midi
def test_a_good_room_is_all_well(
    room: Path, pulse: PulseCapture, jack: Jack, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = doctor(room, capsys)
    size = (room / "sessions.db").stat().st_size / 1024
    expected = [
        f"the room in {room}",
        "ok    room folder: 1 session profile, 0 patients",
        "ok    sound server: PulseAudio answers",
        f"ok    music: heard — {HEARD}",
        f"ok    patient_chimes: heard — {HEARD}",
        "ok    MIDI output lights: 'dimmer' is 'dimmer:Lights in'",
        r"ok    OSC target scene: 127\.0\.0\.1:\d+: a program listens there",
        rf"ok    journal: sound \(integrity_check ok\), {size:.1f} KB, WAL 0 B",
        "ok    journal access: mode 0600: the room's user alone",
        r"ok    disk: [\d.]+ [KMG]B free, about [\d,]+ session-hours of journal",
        r"ok    clock: synchronised \(timedatectl\)",
        r"ok    daemon: none runs this room now \(`setandsetting serve` starts one\)",
        "all well",
    ]
    assert len(lines) == len(expected), lines
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    assert code == 0


@pytest.mark.audio
@pytest.mark.midi
def test_the_sound_server_stopped(
    room: Path, pulse: PulseCapture, jack: Jack, capsys: pytest.CaptureFixture[str]
) -> None:
    pulse.stop()
    failed, lines = one_problem(room, capsys)
    assert failed == (
        "FAIL  sound server: PulseAudio is not answering — fix: start it (`pulseaudio "
        "--start`, or `systemctl --user start pulseaudio`); for the service, `loginctl "
        "enable-linger` the room's user"
    )
    assert "--    outputs: no tone played: the sound server is not answering" in lines


@pytest.mark.audio
@pytest.mark.midi
def test_a_midi_port_missing(
    room: Path, pulse: PulseCapture, jack: Jack, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (room / "room.yaml").read_text()
    pedal = "  inputs:\n    footswitch: {port: FS-1}\nosc:"
    (room / "room.yaml").write_text(text.replace("osc:", pedal))
    failed, lines = one_problem(room, capsys)
    assert failed == (
        "FAIL  MIDI input footswitch: no port named 'FS-1' (ports here: none) — fix: connect "
        "the device or start the program that offers 'FS-1', or correct room.yaml's "
        "midi.inputs.footswitch.port (`setandsetting midi ports` lists the ports)"
    )
    assert "ok    MIDI output lights: 'dimmer' is 'dimmer:Lights in'" in lines


@pytest.mark.audio
@pytest.mark.midi
def test_a_corrupted_journal(
    room: Path, pulse: PulseCapture, jack: Jack, capsys: pytest.CaptureFixture[str]
) -> None:
    """The journal replaced by a copy gone bad on its way back from a backup disk."""
    assert main(["--room", str(room), "log", "backup", str(room / "copy.db")]) == 0
    corrupt(room / "copy.db")
    os.replace(room / "copy.db", room / "sessions.db")
    for suffix in ("-wal", "-shm"):
        (room / f"sessions.db{suffix}").unlink(missing_ok=True)
    capsys.readouterr()
    failed, _ = one_problem(room, capsys)
    assert failed.startswith("FAIL  journal: corrupt: in database main; On tree page ")
    assert failed.endswith(
        " — fix: stop the daemon, move sessions.db (and its -wal, -shm) aside, and copy the "
        "last good backup in its place (`setandsetting log verify BACKUP` first)"
    )
