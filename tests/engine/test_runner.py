"""SessionRunner with recording devices: a crashed session resumes live (pending check-ins
acknowledgeable, nothing fired twice), and a full disk never stops the music."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from setandsetting.backends.recording import RecordingChimes, RecordingMusic
from setandsetting.core import session
from setandsetting.core.controls import parse_control
from setandsetting.core.events import wall_at
from setandsetting.core.plan import build_plan
from setandsetting.core.room import Room
from setandsetting.engine.conductor import Devices
from setandsetting.engine.resume import control_fields
from setandsetting.engine.runner import Resumed, SessionRunner
from setandsetting.journal.store import Journal
from setandsetting.room.folder import RoomFolder
from tests.journal.test_writer_faults import _fill, small_tmpfs
from tests.support.session_room import make_room

__all__ = ["small_tmpfs"]


class Recorders:
    """The devices factory: recording music and chimes on the monotonic clock."""

    def __init__(self) -> None:
        self.music: list[RecordingMusic] = []
        self.chimes: list[RecordingChimes] = []

    def __call__(self, room: Room, report: Callable[..., None], sounds: Path) -> Devices:
        self.music.append(RecordingMusic(time.monotonic))
        self.chimes.append(RecordingChimes(time.monotonic))
        return Devices(self.music[-1], self.chimes[-1], None)


@pytest.fixture
def runners() -> Iterator[list[SessionRunner]]:
    made: list[SessionRunner] = []
    try:
        yield made
    finally:
        for runner in made:
            runner.close()


def _crashed_journal(
    room: Path,
    profile: Path,
    age_s: float,
    controls: list[tuple[float, str]],
    dead_at: float | None = None,
) -> str:
    """A session that started `age_s` ago and died at session time `dead_at` (default: just
    now), journaled as the engine would have (each control first as a `control` event),
    with a heartbeat at its last moment."""
    compiled = RoomFolder(room).compile(profile, "P-1")
    started = datetime.now(UTC) - timedelta(seconds=age_s)
    dead_at = age_s - 0.5 if dead_at is None else dead_at
    state, events = session.start(compiled.timeline, 0.0)
    out = [e.to_dict(started) for e in events]
    for t, text in controls:
        control = parse_control(text)
        out.append({"type": "control", "t": t, "wall": None, **control_fields(control)})
        state, events = session.apply(state, control, t)
        out += [e.to_dict(started) for e in events]
    state, events = session.advance(state, dead_at)
    out += [e.to_dict(started) for e in events]
    for event in out:
        event["wall"] = wall_at(started, event["t"])
    with Journal.open(room / "sessions.db") as journal:
        sid = journal.begin_session(
            "P-1", str(profile), "Short", started, build_plan(compiled.timeline)
        )
        journal.append_many((sid, e) for e in out)
        journal.heartbeat(sid, dead_at, started + timedelta(seconds=dead_at), {})
    return sid


def _eventually(check: Callable[[], bool], limit_s: float = 2.0) -> bool:
    """The snapshot is republished on the engine's next loop, just after a control."""
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_crashed_session_resumes_live(tmp_path: Path, runners: list[SessionRunner]) -> None:
    """Died at 0:30.5 with vitals deep.1.0 (due 0:30) and settle's three unanswered, and the
    deep phase extended by 1 minute: the resumed engine keeps all, and fires nothing again."""
    profile = make_room(tmp_path)
    sid = _crashed_journal(tmp_path, profile, 31.0, [(22.0, "extend 1m")])
    before = Journal.open(tmp_path / "sessions.db")
    journaled = before.events(sid)
    before.close()
    recorders = Recorders()
    seen: list[dict[str, Any]] = []
    runner = SessionRunner(RoomFolder(tmp_path), devices=recorders, midi_input=False)
    runners.append(runner)
    runner.subscribe(seen.append)
    resumed = runner.resume_interrupted()
    assert resumed is not None and resumed.session_id == sid and 0.4 <= resumed.gap_s <= 2.0
    engine = runner.engine
    assert engine is not None
    snap = engine.snapshot()
    waiting = ["settle.0.0", "settle.0.1", "settle.0.2", "deep.1.0"]
    assert [p["id"] for p in snap["pending"]] == waiting
    assert snap["phase"] == "deep"
    # deep ends at 20 s + 2 min + the 1-minute extension
    assert abs(snap["remaining"] - (200.0 - engine.now())) < 0.5
    [ack] = [
        e
        for e in engine.submit(parse_control("ack deep.1.0"))
        if e["type"] == "checkin_acknowledged"
    ]
    assert ack["id"] == "deep.1.0" and 1.0 <= ack["latency_s"] <= 3.0
    engine.submit(parse_control("dismiss settled before the crash"))
    assert _eventually(lambda: engine.snapshot()["pending"] == [])
    runner.close()
    with Journal.open(tmp_path / "sessions.db") as journal:
        after = journal.events(sid)
    assert after[: len(journaled)] == journaled
    due = [e["id"] for e in after if e["type"] == "checkin_due"]
    assert len(due) == len(set(due))
    fired_before = {e["id"] for e in journaled if e["type"] == "checkin_due"}
    assert not fired_before & {e["id"] for e in seen if e["type"] == "checkin_due"}
    # The music came back where the clock says: T1 began at 0:26 (deep from 0:20, T0 turns
    # 2 s before its 8 s end), so at the rejoin it is that far in.
    [rejoin] = [e for e in seen if e["type"] == "control" and e["action"] == "rejoin"]
    [play] = recorders.music[0].named("play")
    _, path, offset, _ = play.args
    assert Path(path).name == "t1.flac" and abs(offset - (rejoin["t"] - 26.0)) < 0.002


def test_what_the_clock_passed_while_down_is_journaled_as_the_gap(
    tmp_path: Path, runners: list[SessionRunner]
) -> None:
    """Died at 0:05, back at 0:28: the phase change, tracks and check-ins of those 23 s are
    journaled once, marked `in_gap`, and the review says they were not heard."""
    from setandsetting.journal.review import build_review, render_text

    profile = make_room(tmp_path)
    sid = _crashed_journal(tmp_path, profile, 28.0, [], dead_at=5.0)
    with Journal.open(tmp_path / "sessions.db") as journal:
        before = journal.events(sid)
    runner = SessionRunner(RoomFolder(tmp_path), devices=Recorders(), midi_input=False)
    runners.append(runner)
    resumed = runner.resume_interrupted()
    assert resumed is not None and 22.5 <= resumed.gap_s <= 24.0
    runner.close()
    with Journal.open(tmp_path / "sessions.db") as journal:
        after = journal.events(sid)
        summary = journal.session(sid)
    assert after[: len(before)] == before and not any(e.get("in_gap") for e in before)
    resumed_at = next(i for i, e in enumerate(after) if e["type"] == "session_resumed")
    gap = after[len(before) : resumed_at]
    assert gap and all(e.get("in_gap") is True and 5.0 < e["t"] <= 28.5 for e in gap)
    assert not any(e.get("in_gap") for e in after[resumed_at:])
    assert [e["phase"] for e in gap if e["type"] == "phase_started"] == ["deep"]
    assert [e["id"] for e in gap if e["type"] == "checkin_due"] == [
        "settle.0.1",  # 0:09
        "settle.0.2",  # 0:16
        "deep.0.0",  # 0:23
    ]
    assert {e["type"] for e in gap} >= {"track_started", "track_ended", "checkin_escalated"}
    text = render_text(build_review(summary, after))
    assert "due while the program was down (no chime)" in text
    assert "(program down: not heard)" in text


def test_a_session_whose_clock_ran_out_while_down_ends_once(
    tmp_path: Path, runners: list[SessionRunner]
) -> None:
    """Died at 2:10 of a 2:20 session, back at 3:20 (inside the resume window): the end at
    2:20 is journaled once, as completed; no engine starts and nothing closes it again."""
    profile = make_room(tmp_path)
    sid = _crashed_journal(tmp_path, profile, 200.0, [], dead_at=130.0)
    runner = SessionRunner(RoomFolder(tmp_path), devices=Recorders(), midi_input=False)
    runners.append(runner)
    assert runner.resume_interrupted() is None
    assert runner.engine is None
    with Journal.open(tmp_path / "sessions.db") as journal:
        events = journal.events(sid)
        summary = journal.session(sid)
        assert journal.interrupted() == []
    ends = [e for e in events if e["type"] == "session_ended"]
    assert [(e["t"], e["reason"], e["in_gap"]) for e in ends] == [(140.0, "completed", True)]
    assert events[-1] is ends[0]
    assert summary.end_reason == "completed"


def test_start_or_resume_starts_the_profile_when_nothing_was_interrupted(
    tmp_path: Path, runners: list[SessionRunner]
) -> None:
    profile = make_room(tmp_path)
    runner = SessionRunner(RoomFolder(tmp_path), devices=Recorders(), midi_input=False)
    runners.append(runner)
    looked_up: list[Path] = []

    def new_profile() -> Path:
        looked_up.append(profile)
        return profile

    assert runner.start_or_resume(new_profile, "P-1") is None
    assert looked_up == [profile] and runner.running
    with Journal.open(tmp_path / "sessions.db") as journal:
        assert [(s.id, s.patient) for s in journal.sessions()] == [(runner.session_id, "P-1")]


def test_start_or_resume_resumes_and_never_looks_up_the_new_profile(
    tmp_path: Path, runners: list[SessionRunner]
) -> None:
    """`serve --start NAME` with a session to resume: NAME is not even looked up."""
    profile = make_room(tmp_path)
    sid = _crashed_journal(tmp_path, profile, 31.0, [])
    runner = SessionRunner(RoomFolder(tmp_path), devices=Recorders(), midi_input=False)
    runners.append(runner)

    def new_profile() -> Path:
        raise AssertionError("a new session's profile was looked up")

    resumed = runner.start_or_resume(new_profile, "P-1")
    assert resumed is not None and resumed.session_id == runner.session_id == sid
    assert runner.running


def test_start_or_resume_with_no_profile_starts_nothing(
    tmp_path: Path, runners: list[SessionRunner]
) -> None:
    make_room(tmp_path)
    runner = SessionRunner(RoomFolder(tmp_path), devices=Recorders(), midi_input=False)
    runners.append(runner)
    assert runner.start_or_resume(None, None) is None
    assert runner.engine is None and runner.session_id is None


def test_a_resumed_session_says_which_and_after_how_long() -> None:
    """The line `run` and `serve` both print."""
    resumed = Resumed("20261203-101500-P-1", 125.0)
    assert str(resumed) == "resumed session 20261203-101500-P-1 after 2m05s"


def _disk_full_session(
    room: Path, make_full: Callable[[Journal], None], free: Callable[[Journal], None]
) -> None:
    """While the journal cannot be written the music goes on and status says why; once it
    can, the held events land in order, followed by one `error` event."""
    profile = room / "profiles" / "short.yaml"
    recorders = Recorders()
    seen: list[dict[str, Any]] = []
    lock = threading.Lock()

    def collect(event: dict[str, Any]) -> None:
        with lock:
            seen.append(event)

    runner = SessionRunner(RoomFolder(room), devices=recorders, midi_input=False)
    try:
        runner.subscribe(collect)
        engine = runner.start(profile, "P-1")
        sid = runner.session_id
        assert sid is not None and _eventually(lambda: len(seen) >= 3)
        make_full(runner.journal)
        full_at = time.monotonic()
        engine.submit(parse_control("level +20%"))
        # Long enough to need a new page, so the page limit of the portable variant bites.
        engine.submit(parse_control("note written while the disk was full " + "x" * 6000))
        assert "disk is full" in (engine.snapshot()["journal_degraded"] or "")
        time.sleep(1.0)
        music = recorders.music[0]
        rising = [c.args[1] for c in music.named("set_level") if c.t > full_at]
        assert len(rising) >= 10 and rising[-1] > rising[0]  # the nudge fades in, live
        assert "disk is full" in (engine.snapshot()["journal_degraded"] or "")
        free(runner.journal)
        assert _eventually(lambda: engine.snapshot()["journal_degraded"] is None)
        engine.stop()
    finally:
        runner.close()
    with Journal.open(room / "sessions.db") as journal:
        events = journal.events(sid)
    errors = [e for e in events if e["type"] == "error" and e.get("source") == "journal"]
    assert len(errors) == 1 and "disk is full" in errors[0]["message"]
    assert [e for e in events if e is not errors[0]] == seen
    note = next(i for i, e in enumerate(events) if e["type"] == "note")
    assert note < events.index(errors[0])


def test_a_disk_filling_up_on_a_real_tmpfs(tmp_path: Path, small_tmpfs: Path) -> None:
    """The room lives on a 1 MiB tmpfs (its music linked from elsewhere); a ballast file
    fills it to the last byte mid-session and is then removed."""
    make_room(tmp_path)
    for part in ("profiles", "playlists"):
        shutil.copytree(tmp_path / part, small_tmpfs / part)
    shutil.copy(tmp_path / "room.yaml", small_tmpfs / "room.yaml")
    (small_tmpfs / "music").symlink_to(tmp_path / "music")
    ballast: list[Path] = []
    _disk_full_session(
        small_tmpfs,
        make_full=lambda journal: ballast.append(_fill(small_tmpfs)),
        free=lambda journal: ballast.pop().unlink(),
    )


def test_a_disk_filling_up_through_sqlite_max_page_count(tmp_path: Path) -> None:
    """Portable variant: SQLite's page limit raises the same SQLITE_FULL."""
    make_room(tmp_path)

    def make_full(journal: Journal) -> None:
        (pages,) = journal.query("PRAGMA page_count")[0]
        journal.query(f"PRAGMA max_page_count = {pages}")

    _disk_full_session(
        tmp_path,
        make_full=make_full,
        free=lambda journal: journal.query("PRAGMA max_page_count = 1073741823"),
    )


def test_closing_the_runner_stops_the_program_not_the_session(
    tmp_path: Path, runners: list[SessionRunner]
) -> None:
    """What SIGTERM does to `serve` and `run`: the sounding track fades out over the end
    fade and stops, nothing more happens (no chime, no control), `daemon_stopped` is
    journaled and no `session_ended`; the session stays open and the next start resumes it."""
    from setandsetting.engine.conductor import END_FADE_S
    from setandsetting.engine.engine import EngineClosed

    profile = make_room(tmp_path)
    recorders = Recorders()
    runner = SessionRunner(RoomFolder(tmp_path), devices=recorders, midi_input=False)
    runners.append(runner)
    engine = runner.start(profile, "P-1")
    sid = runner.session_id
    time.sleep(3.0)  # the first track has faded in
    music = recorders.music[0]
    [level] = music.levels.values()
    assert level > 0.3
    halted_at = time.monotonic()
    runner.close()
    assert END_FADE_S <= time.monotonic() - halted_at <= END_FADE_S + 1.0
    fade = [c.args[1] for c in music.named("set_level") if c.t >= halted_at]
    assert fade == sorted(fade, reverse=True) and len(fade) >= 20 and fade[-1] < 0.05 * level
    assert [c.method for c in music.calls if c.t >= halted_at][-2:] == ["stop", "close"]
    assert not [c for c in recorders.chimes[0].named("play") if c.t >= halted_at]
    with pytest.raises(EngineClosed):
        engine.submit(parse_control("ack"))
    with Journal.open(tmp_path / "sessions.db") as journal:
        events = journal.events(sid)
        assert [item.session.id for item in journal.interrupted()] == [sid]
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "daemon_stopped" and "session_ended" not in kinds

    again = SessionRunner(RoomFolder(tmp_path), devices=Recorders(), midi_input=False)
    runners.append(again)
    resumed = again.resume_interrupted()
    assert resumed is not None and resumed.session_id == sid and resumed.gap_s < 1.5
    assert again.engine is not None and again.engine.snapshot()["phase"] == "settle"
