import signal
import stat
import threading
import time
from pathlib import Path

import pytest

from setandsetting.cli import main
from setandsetting.journal.export import from_csv
from setandsetting.journal.store import Journal
from tests.journal.synthetic import EXPECTED_REVIEW, make_room, session_events
from tests.support import journal_rows as on_disk
from tests.support.daemon import make_api_room
from tests.support.journal_rows import corrupt
from tests.support.processes import command, spawned, wait_served

SERVE_SHORT = ("serve", "--port", "0", "--start", "short", "--patient", "P-0042")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_show_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    room, session_id = make_room(tmp_path)
    code, out, _ = _run(capsys, "--room", str(room), "log", "list")
    assert code == 0
    assert out.splitlines() == [
        "session                patient  started (UTC)     ended                    profile",
        "20261126-160501-P0042  P0042    2026-11-26 16:05  completed after 0:55:00  "
        "IM ketamine, 60-minute journey",
    ]
    assert _run(capsys, "--room", str(room), "log", "show", session_id) == (0, EXPECTED_REVIEW, "")
    code, out, _ = _run(capsys, "--room", str(room), "log", "export", session_id, "--format", "csv")
    assert code == 0 and from_csv(out) == session_events()
    target = tmp_path / "chart.html"
    code, out, _ = _run(
        capsys,
        *("--room", str(room), "log", "export", session_id, "--format", "html"),
        *("--output", str(target)),
    )
    assert (code, out) == (0, f"wrote {target}\n")
    assert "<svg" in target.read_text() and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    room, _ = make_room(tmp_path)
    code, out, _ = _run(capsys, "--room", str(room), "log", "stats")
    assert code == 0 and out.startswith("sessions                 1\n")


def test_unknown_session_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    room, _ = make_room(tmp_path)
    code, out, err = _run(capsys, "--room", str(room), "log", "show", "20990101-000000-X")
    assert (code, out) == (2, "")
    assert err == (f"setandsetting log: {room / 'sessions.db'}: no session '20990101-000000-X'\n")


def test_no_journal_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "--room", str(tmp_path), "log", "list") == (
        0,
        f"no sessions journaled in {tmp_path}\n",
        "",
    )
    code, _, err = _run(capsys, "--room", str(tmp_path), "log", "show", "x")
    assert code == 2 and "no journal in" in err
    assert not (tmp_path / "sessions.db").exists()  # reading never creates a journal


def test_bad_journal_is_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sessions.db"
    path.write_bytes(b"not sqlite at all" * 10)
    for argv in (["log", "list"], ["log", "show", "x"], ["log", "stats"]):
        code, out, err = _run(capsys, "--room", str(tmp_path), *argv)
        assert (code, out) == (2, "")
        assert err.startswith(f"setandsetting log: {path}: is not a SQLite database")
        assert "Traceback" not in err
    assert path.read_bytes() == b"not sqlite at all" * 10


def test_export_to_an_unwritable_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    room, session_id = make_room(tmp_path)
    target = tmp_path / "missing-folder" / "out.csv"
    code, _, err = _run(
        capsys,
        *("--room", str(room), "log", "export", session_id, "--format", "csv"),
        *("--output", str(target)),
    )
    assert (
        code == 2
        and err == f"setandsetting log: {target}: cannot write (No such file or directory)\n"
    )


def test_journal_is_not_left_open(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    room, session_id = make_room(tmp_path)
    _run(capsys, "--room", str(room), "log", "show", session_id)
    with Journal.open(room / "sessions.db", busy_timeout_s=0.1) as journal:
        journal.append(session_id, {"type": "note", "t": 4000.0, "text": "after review"})


def test_backup_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "room").mkdir()
    room, _ = make_room(tmp_path / "room")
    copy = tmp_path / "copy.db"
    assert _run(capsys, "--room", str(room), "log", "backup", str(copy)) == (
        0,
        f"backed up {room / 'sessions.db'} to {copy} (1 session, 31 events; verified)\n",
        "",
    )
    code, out, err = _run(capsys, "log", "verify", str(copy))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{copy}: sound — integrity ok, 1 session, 31 events, every session readable",
        "  checkin_acknowledged  1",
        "  checkin_due           2",
        "  checkin_escalated     2",
        "  checkin_missed        1",
        "  cue_sent              1",
        "  error                 1",
        "  level_changed         1",
        "  music_resumed         1",
        "  note                  2",
        "  phase_advanced        1",
        "  phase_extended        1",
        "  phase_started         4",
        "  quiet                 1",
        "  session_ended         1",
        "  session_started       1",
        "  track_ended           5",
        "  track_started         5",
    ]
    corrupt(copy)
    code, out, err = _run(capsys, "log", "verify", str(copy))
    assert (code, err, len(out.splitlines())) == (1, "", 1)
    assert out.startswith(f"{copy}: NOT SOUND — integrity check: in database main; On tree page ")
    assert _run(capsys, "--room", str(room), "log", "backup", str(copy)) == (
        2,
        "",
        f"setandsetting log: {copy}: exists already; a backup never overwrites a file\n",
    )


def test_no_journal_no_backup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "--room", str(tmp_path), "log", "backup", str(tmp_path / "c.db")) == (
        2,
        "",
        f"setandsetting log: no journal in {tmp_path} yet: nothing to back up\n",
    )
    assert _run(capsys, "log", "verify", str(tmp_path / "c.db")) == (
        2,
        "",
        f"setandsetting log: {tmp_path / 'c.db'}: no such file\n",
    )


def test_a_backup_while_a_served_session_writes_holds_all_journaled_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Notes acknowledged all along through the daemon: the copy verifies, and holds every
    event on disk before the backup began (the session's first rows, exactly) and every
    note acknowledged by then; the daemon went on writing meanwhile."""
    room = make_api_room(tmp_path / "room")
    db, copy = room / "sessions.db", tmp_path / "copy.db"
    acked: list[str] = []
    stop = threading.Event()

    def press() -> None:
        k = 0
        while not stop.is_set():
            if main(["--room", str(room), "note", f"n{k}"]) == 0:
                acked.append(f"n{k}")
            k += 1

    with spawned(tmp_path / "logs") as started:
        serve = started.spawn(command(room, *SERVE_SHORT))
        wait_served(room, serve)
        nurse = threading.Thread(target=press)
        nurse.start()
        try:
            deadline = time.monotonic() + 20
            while len(acked) < 3:
                assert nurse.is_alive() and time.monotonic() < deadline, "no note acknowledged"
                time.sleep(0.01)
            noted, before = list(acked), on_disk.rows(db)
            assert main(["--room", str(room), "log", "backup", str(copy)]) == 0
            while len(acked) < len(noted) + 2:
                assert time.monotonic() < deadline, "no note acknowledged after the backup"
                time.sleep(0.01)
        finally:
            stop.set()
            nurse.join()
        serve.popen.send_signal(signal.SIGTERM)
        assert serve.wait() == 0
    capsys.readouterr()
    assert main(["log", "verify", str(copy)]) == 0
    assert capsys.readouterr().out.startswith(f"{copy}: sound — integrity ok, 1 session, ")
    kept = on_disk.rows(copy)
    assert kept[: len(before)] == before
    kept_notes = [e["text"] for e in on_disk.events(kept) if e["type"] == "note"]
    assert kept_notes[: len(noted)] == noted
    assert len(on_disk.rows(db)) > len(kept)  # the daemon wrote on after the copy
