import stat
from pathlib import Path

import pytest

from setandsetting.cli import main
from setandsetting.journal.export import from_csv
from setandsetting.journal.store import Journal
from tests.journal.synthetic import EXPECTED_REVIEW, make_room, session_events


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
