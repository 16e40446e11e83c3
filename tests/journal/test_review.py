from pathlib import Path

from setandsetting.journal.review import build_review, render_text
from setandsetting.journal.store import Journal
from tests.journal.synthetic import make_room

EXPECTED = """\
Session   20261126-160501-P0042
Patient   P0042
Profile   IM ketamine, 60-minute journey (profiles/im-60.yaml)
Started   2026-11-26 16:05:01 UTC
Ended     2026-11-26 17:00:01 UTC (completed) at 0:55:00

Phases
  phase        planned          actual           changes
  arrival      0:00:00-0:10:00  0:00:00-0:10:00
  peak         0:10:00-0:30:00  0:10:00-0:40:00  extended +10m (1x)
  return       0:30:00-0:50:00  0:40:00-0:46:40  moved on 13m20s early
  integration  0:50:00-open     0:46:40-0:55:00

Tracks
  start    end      phase        ended      title   path
  0:00:00  0:10:00  arrival      phase_end  Arrive  music/arrive.flac
  0:10:00  0:31:40  peak         quiet      Drift   music/drift.flac
  0:33:10  0:40:00  peak         phase_end  Drift   music/drift.flac
  0:40:00  0:46:40  return       skipped    Shore   music/shore.flac
  0:46:40  0:55:00  integration  phase_end  After   music/after.flac

Check-ins
  due      phase  kind    audience  outcome
  0:15:00  peak   vitals  staff     acknowledged after 42s
  0:25:00  peak   vitals  staff     missed, escalated 2x

Quiet periods
  from     to       length
  0:31:40  0:33:10  1m30s

Notes
  time     note
  0:05:00  intention: rest and let go
  0:50:00  talking, calm, "felt held"

Errors
  time     source  message
  0:45:00  music   cannot decode music/reed.flac

Resumed after interruptions
  (none)
"""


def test_review_of_a_journaled_session_is_the_exact_table(tmp_path: Path) -> None:
    room, session_id = make_room(tmp_path)
    with Journal.open(room / "sessions.db", create=False) as journal:
        review = build_review(journal.session(session_id), journal.events(session_id))
    assert render_text(review) == EXPECTED


def test_review_fields(tmp_path: Path) -> None:
    room, session_id = make_room(tmp_path)
    with Journal.open(room / "sessions.db", create=False) as journal:
        review = build_review(journal.session(session_id), journal.events(session_id))
    peak = review.phases[1]
    assert (peak.id, peak.started_s, peak.ended_s) == ("peak", 600.0, 2400.0)
    assert (peak.extended_s, peak.extensions, peak.advanced_early_s) == (600.0, 1, None)
    assert review.phases[2].advanced_early_s == 800.0
    first, second = review.checkins
    assert (first.latency_s, first.acknowledged_s, first.missed) == (42.5, 942.5, False)
    assert (second.latency_s, second.escalations, second.missed) == (None, 2, True)
    assert [(q.started_s, q.ended_s) for q in review.quiet_periods] == [(1900.0, 1990.0)]
    assert review.ended_s == 3300.25 and review.end_reason == "completed"


def test_an_interrupted_session_has_open_ends(tmp_path: Path) -> None:
    room, session_id = make_room(tmp_path)
    with Journal.open(room / "sessions.db", create=False) as journal:
        cut = [e for e in journal.events(session_id) if e["t"] < 1950]
        review = build_review(journal.session(session_id), cut)
    # The record is cut while peak runs and the quiet is on: both stay open.
    assert review.phases[1].ended_s is None
    assert review.phases[2].started_s is None
    assert review.quiet_periods[-1].ended_s is None
    assert review.tracks[-1].ended_s == 1900.0
