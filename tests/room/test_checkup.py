"""room/checkup.py: the facts the doctor judges, asked of this machine for real."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from setandsetting.core.doctor import ClockFacts, DaemonFacts, JournalFacts, OscFact
from setandsetting.core.room import Room
from setandsetting.room.checkup import clock_facts, gather, journal_facts, osc_fact, sound_facts
from tests.journal.synthetic import make_room


def stand_in(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
    (bin_dir / name).chmod(0o755)


@pytest.mark.parametrize(
    ("timedatectl", "chronyc", "facts"),
    [
        ("echo yes", None, ClockFacts(True, "timedatectl")),
        ("echo no", None, ClockFacts(False, "timedatectl")),
        # no systemd (a container): timedatectl fails, chrony says
        ("exit 1", "echo 'Leap status     : Not synchronised'", ClockFacts(False, "chrony")),
        (
            None,
            "echo 'Ref time (UTC)  : x'; echo 'Leap status     : Normal'",
            ClockFacts(True, "chrony"),
        ),
        ("exit 1", "exit 1", ClockFacts(None)),
    ],
)
def test_the_clock_as_timedatectl_or_chrony_says(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    timedatectl: str | None,
    chronyc: str | None,
    facts: ClockFacts,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("timedatectl", timedatectl), ("chronyc", chronyc)):
        if script is not None:
            stand_in(bin_dir, name, script)
    monkeypatch.setenv("PATH", str(bin_dir))  # neither real one is found
    assert clock_facts() == facts


def test_osc_targets_refused_listened_on_or_unresolved() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        assert osc_fact("lights", f"127.0.0.1:{port}") == OscFact(
            "lights", f"127.0.0.1:{port}", "listening"
        )
        assert listener.recv(16) == b""  # what it got: an empty datagram, no OSC message
    assert osc_fact("lights", f"127.0.0.1:{port}").answer == "refused"
    assert osc_fact("hall", "no-such-host.invalid:7700").answer == "unresolved"


def test_the_journal_read_only_its_sizes_and_modes(tmp_path: Path) -> None:
    assert journal_facts(tmp_path / "sessions.db") == JournalFacts(exists=False)
    room, _ = make_room(tmp_path)
    db = room / "sessions.db"
    before = db.read_bytes()
    os.chmod(db, 0o640)
    facts = journal_facts(db)
    assert facts == JournalFacts(True, (), db.stat().st_size, 0, (("sessions.db", 0o640),))
    assert db.read_bytes() == before and not (room / "sessions.db-wal").exists()
    db.write_bytes(b"garbage" * 100)
    assert journal_facts(db).problems == (f"{db}: is not a SQLite database, so not a journal",)


def test_a_broken_room_yaml_is_a_fact_and_no_device_is_asked(tmp_path: Path) -> None:
    (tmp_path / "room.yaml").write_text("server: {port: 99999}\n")
    facts = gather(tmp_path)
    assert facts.room_problem is not None and facts.room_problem.startswith(
        f"{tmp_path / 'room.yaml'}:1:"
    )
    assert (facts.sound, facts.ports, facts.osc) == (None, (), ())
    assert facts.journal == JournalFacts(exists=False)


def test_no_tone_is_played_while_a_daemon_runs_the_room() -> None:
    """It could be in a session: the outputs are left to its own Test sound."""
    facts = sound_facts(Room(), DaemonFacts(os.getpid(), "serve", "http://127.0.0.1:8700"))
    assert facts.outputs == ()
    assert facts.not_played == (
        f"PID {os.getpid()} runs this room (its Start page's Test sound plays them)"
    )
