"""`setandsetting run` as a real process: killed with SIGKILL at random moments, restarted,
it resumes the session from its journal; bad storage is refused naming the file."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from setandsetting.core.events import Event, wall_at
from setandsetting.core.plan import build_plan
from setandsetting.journal.store import Journal
from setandsetting.room.folder import RoomFolder
from tests.support.session_room import make_room

TRIALS = 10
RESUME_LIMIT_S = 3.0
POSITION_LIMIT_S = 1.0
Row = tuple[int, str, float, str, str]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"SDL_AUDIODRIVER": "dummy", "PULSE_SERVER": "unix:/nonexistent"})
    return env


def _spawn(room: Path, profile: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "setandsetting", "--room", str(room), "run", str(profile)]
    return subprocess.Popen(
        [*argv, "--patient", "P-1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )


def _rows(db: Path) -> list[Row]:
    """Every event row, through a separate read-only connection (as the disk has it)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(
            "SELECT seq, type, t, wall, data FROM events ORDER BY session_id, seq"
        ).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        con.close()


def _wait_for(db: Path, kind: str, after: int, limit_s: float) -> list[Row]:
    """Poll the journal until an event of `kind` appears past row `after`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        rows = _rows(db) if db.exists() else []
        if any(r[1] == kind for r in rows[after:]):
            return rows
        time.sleep(0.02)
    raise AssertionError(f"no {kind} within {limit_s} s")


def _wait_for_checkin(db: Path, prefix: str, limit_s: float) -> None:
    """Poll the journal until a check-in whose id starts with `prefix` is due."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        events = _events(_rows(db))
        if any(e["type"] == "checkin_due" and e["id"].startswith(prefix) for e in events):
            return
        time.sleep(0.05)
    raise AssertionError(f"no check-in {prefix}* due within {limit_s} s")


@dataclass
class Trial:
    resume_s: float
    position_errors: list[float]


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Every `run` process a test starts is killed by PID, also when the test fails."""
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _events(rows: list[Row]) -> list[dict]:
    return [{"type": r[1], "t": r[2], "wall": r[3], **json.loads(r[4])} for r in rows]


def _position_errors(events: list[dict], resumed_at: int) -> list[float]:
    """For each track restarted by the rejoin: |offset - what the wall clock says|.

    The expected offset is the same track's last start before the crash (or in the gap)
    plus the wall time that has passed since it."""
    rejoin = next(
        i
        for i in range(resumed_at, len(events))
        if events[i]["type"] == "control" and events[i]["action"] == "rejoin"
    )
    t = events[rejoin]["t"]
    errors = []
    for event in events[rejoin + 1 :]:
        if event["t"] != t:
            break
        if event["type"] != "track_started":
            continue
        before = [
            e
            for e in events[:resumed_at]
            if e["type"] == "track_started" and e["path"] == event["path"]
        ]
        previous = before[-1]
        since = (
            datetime.fromisoformat(event["wall"]) - datetime.fromisoformat(previous["wall"])
        ).total_seconds()
        errors.append(abs(event["offset"] - (previous["offset"] + since)))
    return errors


def test_killed_at_random_moments_the_session_resumes(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    profile = make_room(tmp_path)
    db = tmp_path / "sessions.db"
    rng = random.Random(20261126)
    processes.append(_spawn(tmp_path, profile))
    _wait_for(db, "session_started", 0, 10.0)
    snapshots: list[list[Row]] = []
    trials: list[Trial] = []
    for _ in range(TRIALS):
        time.sleep(rng.uniform(1.0, 2.5))
        processes[-1].kill()
        processes[-1].wait()
        snapshots.append(_rows(db))
        restarted = time.monotonic()
        processes.append(_spawn(tmp_path, profile))
        rows = _wait_for(db, "session_resumed", len(snapshots[-1]), 10.0)
        resume_s = time.monotonic() - restarted
        events = _events(rows)
        resumed_at = next(
            i
            for i in range(len(snapshots[-1]), len(events))
            if events[i]["type"] == "session_resumed"
        )
        trials.append(Trial(resume_s, _position_errors(_wait_rejoined(db, resumed_at), resumed_at)))
    # Into the second phase, so its check-ins are part of what must not fire twice.
    _wait_for_checkin(db, "deep.", 40.0)
    last = processes[-1]
    last.send_signal(signal.SIGINT)
    out, _ = last.communicate(timeout=20)
    assert last.returncode == 0
    assert any(line.startswith("resumed session 20") for line in out.splitlines()), out
    final = _rows(db)
    events = _events(final)

    print(
        "resume s:",
        [round(t.resume_s, 2) for t in trials],
        "position errors s:",
        [round(e, 3) for t in trials for e in t.position_errors],
    )
    # Every event on disk before a kill is there exactly once after it: same rows, in order.
    for snapshot in snapshots:
        assert final[: len(snapshot)] == snapshot
    assert [r[0] for r in final] == list(range(1, len(final) + 1))
    assert [e["type"] for e in events].count("session_started") == 1
    assert [e["type"] for e in events].count("session_resumed") == TRIALS
    assert events[-1]["type"] == "session_ended" and events[-1]["reason"] == "stopped"
    # Nothing fired twice: each check-in once, each escalation step once.
    due = [e["id"] for e in events if e["type"] == "checkin_due"]
    assert len(due) == len(set(due)) and len(due) >= 4
    escalated = [(e["id"], e["count"]) for e in events if e["type"] == "checkin_escalated"]
    assert len(escalated) == len(set(escalated)) and escalated
    # The session clock is the wall clock: every event's t matches its wall time.
    started = datetime.fromisoformat(events[0]["wall"]) - timedelta(seconds=events[0]["t"])
    for event in events:
        wall_t = (datetime.fromisoformat(event["wall"]) - started).total_seconds()
        # t is rounded to the ms, wall truncated to it, and so is the start derived from
        # the first event: together up to 2.5 ms apart (one exactly 2 ms was failed once).
        assert abs(wall_t - event["t"]) <= 0.003, event
    _assert_no_event_twice(events)
    for trial in trials:
        assert trial.resume_s <= RESUME_LIMIT_S
        assert max(trial.position_errors, default=0.0) <= POSITION_LIMIT_S
    # Most kills land while a track sounds (the rest in a phase's last track's fade-out).
    assert sum(bool(t.position_errors) for t in trials) >= TRIALS // 2


IDENTITY = ("id", "phase", "voice", "path", "reason", "count", "action", "output")


def _assert_no_event_twice(events: list[dict]) -> None:
    """No event of the session engine appears twice (same type and identity, same time)."""
    seen: dict[tuple, float] = {}
    for event in events:
        if event["type"] == "error":
            continue
        key = (event["type"], *(event.get(k) for k in IDENTITY))
        assert abs(seen.get(key, -1.0) - event["t"]) > 0.01, f"twice: {event}"
        seen[key] = event["t"]


def _wait_rejoined(db: Path, resumed_at: int) -> list[dict]:
    """The journal once the rejoin after row `resumed_at` and its track starts are on disk
    (they are written together, right after `session_resumed`)."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        events = _events(_rows(db))
        if any(_is_rejoin(e) for e in events[resumed_at:]):
            time.sleep(0.2)
            return _events(_rows(db))
        time.sleep(0.02)
    raise AssertionError("no rejoin after session_resumed")


def _is_rejoin(event: dict) -> bool:
    return event["type"] == "control" and event["action"] == "rejoin"


def test_an_interrupted_session_older_than_the_window_is_closed(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """A session that died 25 minutes ago (window 15 min) ends as `interrupted` at its last
    sign of life (the heartbeat), untouched otherwise, and `run` starts a new session."""
    profile = make_room(tmp_path)
    db = tmp_path / "sessions.db"
    started = datetime.now(UTC) - timedelta(minutes=30)
    beat = started + timedelta(minutes=5)
    with Journal.open(db) as journal:
        compiled = RoomFolder(tmp_path).compile(profile, "P-1")
        old_id = journal.begin_session(
            "P-1", str(profile), "Short", started, build_plan(compiled.timeline)
        )
        for event in (
            Event("session_started", 0.0, {"profile": "Short", "patient": "P-1"}),
            Event("phase_started", 0.0, {"phase": "settle", "planned_t": 0.0}),
        ):
            journal.append(old_id, event.to_dict(started))
        journal.heartbeat(old_id, 300.0, beat, {"phase": "deep"})
    before = _rows(db)
    processes.append(_spawn(tmp_path, profile))
    _wait_for(db, "session_started", len(before), 10.0)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    sessions = con.execute("SELECT id, end_reason FROM sessions ORDER BY id").fetchall()
    old_events = con.execute(
        "SELECT seq, type, t, wall, data FROM events WHERE session_id = ? ORDER BY seq", (old_id,)
    ).fetchall()
    con.close()
    assert sessions == [(old_id, "interrupted"), (sessions[1][0], None)]
    assert old_events == [
        *before,
        (3, "session_ended", 300.0, wall_at(started, 300.0), '{"reason":"interrupted"}'),
    ]
    assert not any(r[1] == "session_resumed" for r in _rows(db))


# ---------------------------------------------------------------- bad storage


RUN_MAIN = (
    "import sys\n"
    "from setandsetting.cli import main\n"
    "import encodings.utf_8_sig, setandsetting.cli.run, setandsetting.engine.runner\n"
    "{drop}"
    "sys.exit(main(sys.argv[1:]))\n"
)
# The venv and its stdlib are root's: import first, then `run` itself runs as nobody.
DROP = "import os; os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"


def _ended_journal(room: Path, profile: Path) -> Path:
    """A journal holding one finished session (so nothing is resumed)."""
    db = room / "sessions.db"
    started = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    with Journal.open(db) as journal:
        sid = journal.begin_session("P-1", str(profile), "Short", started, {"phases": []})
        for t, kind, data in ((0.0, "session_started", {}), (60.0, "session_ended", {})):
            journal.append(sid, Event(kind, t, data | {"reason": "stopped"}).to_dict(started))
    return db


def _assert_refused(
    room: Path, profile: Path, db: Path, message: str, as_nobody: bool = False
) -> None:
    """`run` exits 2 with one clear line naming the journal; the file is left as it was."""
    before = db.read_bytes()
    siblings = sorted(p.name for p in room.iterdir())
    argv = [sys.executable, "-c", RUN_MAIN.format(drop=DROP if as_nobody else "")]
    argv += ["--room", str(room), "run", str(profile), "--patient", "P-1"]
    done = subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{db}: {message}\n"
    assert db.read_bytes() == before
    assert sorted(p.name for p in room.iterdir()) == siblings


def test_a_corrupt_journal_is_refused_and_left_alone(tmp_path: Path) -> None:
    profile = make_room(tmp_path)
    db = _ended_journal(tmp_path, profile)
    data = bytearray(db.read_bytes())
    data[4096 : 3 * 4096] = b"\xa5" * (2 * 4096)  # header intact, b-tree pages garbage
    db.write_bytes(bytes(data))
    _assert_refused(
        tmp_path,
        profile,
        db,
        "the journal is corrupt (database disk image is malformed); it was left untouched: "
        "move it aside to start a new one",
    )


def test_a_locked_journal_is_refused_and_left_alone(tmp_path: Path) -> None:
    profile = make_room(tmp_path)
    db = _ended_journal(tmp_path, profile)
    script = (
        "import sqlite3, sys\n"
        "con = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "con.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        _assert_refused(
            tmp_path,
            profile,
            db,
            "the journal is locked by another process (database is locked)",
        )
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()


def test_an_unreadable_journal_is_refused_and_left_alone() -> None:
    """Root reads anything, so `run` runs as `nobody` on a journal only root may open."""
    room = Path(tempfile.mkdtemp(prefix="sas-unreadable-"))  # /tmp: traversable by nobody
    try:
        room.chmod(0o755)
        profile = make_room(room)
        db = _ended_journal(room, profile)
        assert db.stat().st_mode & 0o777 == 0o600
        _assert_refused(
            room,
            profile,
            db,
            "cannot read and write the journal: permission denied",
            as_nobody=True,
        )
    finally:
        shutil.rmtree(room)
