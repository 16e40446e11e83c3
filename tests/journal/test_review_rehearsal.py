"""A rehearsed session, journaled with `rehearse --journal`, reviewed with `log show` and
exported with `log export`: the review is the exact table a clinician charts from. The
three phases play one slot, so its first track plays on through them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.cli import main
from setandsetting.journal.export import from_csv
from setandsetting.journal.store import Journal
from tests.support.audio_analysis import write_tones

PROFILE = """\
name: Review rehearsal
route: other
phases:
  - id: arrival
    name: Arrival
    duration: 30s
    music: {slot: long}
    level: 30%
    checkins:
      - {at: [10s], kind: dose, message: "Record the dose", audience: staff, ack: required,
         escalate_after: 10s}
  - id: peak
    name: Peak
    duration: 1m
    extendable: 1m
    music: {slot: long}
    level: 50%
    checkins:
      - {at: [10s, 30s], kind: vitals, message: "BP and pulse", audience: staff,
         ack: required, escalate_after: 10s}
  - id: return
    name: Return
    duration: 30s
    music: {slot: long}
    level: 30%
    fade_out: 10s
"""
CONTROLS = (
    "15s:ack",  # the dose check-in, 5 s after it was due
    "35s:note settling, eyes closed",
    "44s:ack",  # the first vitals, 4 s after
    "50s:extend 30s",  # peak now ends at 2:00
    "95s:next",  # ... and is left early, at 1:35; the second vitals waits on into return
    "100s:note eyes open, talking",
    "110s:dismiss peak.0.1 taken by hand",
)
START = "2026-11-26T09:00:00+00:00"
SESSION = "20261126-090000-P-7"

EXPECTED = """\
Session   20261126-090000-P-7
Patient   P-7
Profile   Review rehearsal ({room}/profiles/review.yaml)
Started   2026-11-26 09:00:00 UTC
Ended     2026-11-26 09:02:05 UTC (completed) at 0:02:05

Phases
  phase    planned          actual           changes
  arrival  0:00:00-0:00:30  0:00:00-0:00:30
  peak     0:00:30-0:01:30  0:00:30-0:01:35  extended +30s (1x), moved on 25s early
  return   0:01:30-0:02:00  0:01:35-0:02:05

Tracks
  start    end      phase    ended      title  path
  0:00:00  0:02:05  arrival  phase_end  One    {room}/music/one.flac

Check-ins
  due      phase    kind    audience  outcome
  0:00:10  arrival  dose    staff     acknowledged after 5s
  0:00:40  peak     vitals  staff     acknowledged after 4s
  0:01:00  peak     vitals  staff     dismissed after 50s: taken by hand, escalated 3x

Check-ins missed or dismissed
  due      phase  kind    outcome
  0:01:00  peak   vitals  dismissed after 50s: taken by hand, escalated 3x

Quiet periods
  (none)

Notes
  time     note
  0:00:35  settling, eyes closed
  0:01:40  eyes open, talking

Errors
  (none)

Resumed after interruptions
  (none)
"""


@pytest.fixture
def room(tmp_path: Path) -> Path:
    for sub in ("profiles", "playlists/default", "music"):
        (tmp_path / sub).mkdir(parents=True)
    for name, freq in (("one", 330.0), ("two", 440.0)):
        write_tones(tmp_path / "music" / f"{name}.flac", [(freq, 200.0)], 0.2, rate=8000)
    (tmp_path / "playlists/default/long.yaml").write_text(
        "name: Long\ntracks:\n"
        "  - {path: ../../music/one.flac, title: One}\n"
        "  - {path: ../../music/two.flac, title: Two}\n"
    )
    (tmp_path / "profiles/review.yaml").write_text(PROFILE)
    (tmp_path / "playlists/P-7").mkdir()  # a patient the room knows: no unknown-ID warning
    return tmp_path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    return out


def test_a_rehearsed_session_reviews_and_exports_exactly(
    room: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    controls = [arg for text in CONTROLS for arg in ("--control", text)]
    out = _cli(
        capsys,
        *("--room", str(room), "rehearse", str(room / "profiles/review.yaml")),
        *("--patient", "P-7", "--journal", "--start", START, *controls),
    )
    assert out.splitlines()[-1] == f"journaled as session {SESSION}"
    shown = _cli(capsys, "--room", str(room), "log", "show", SESSION)
    assert shown == EXPECTED.format(room=room)
    csv_text = _cli(capsys, "--room", str(room), "log", "export", SESSION, "--format", "csv")
    with Journal.open(room / "sessions.db") as journal:
        events = journal.events(SESSION)
    assert from_csv(csv_text) == events
    assert events[0]["wall"] == "2026-11-26T09:00:00.000+00:00"
    assert events[-1] == {
        "type": "session_ended",
        "t": 125.0,
        "wall": "2026-11-26T09:02:05.000+00:00",
        "reason": "completed",
    }
