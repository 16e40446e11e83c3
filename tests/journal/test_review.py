from pathlib import Path

from setandsetting.journal.review import build_review, render_text
from setandsetting.journal.store import Journal
from tests.journal.synthetic import EXPECTED_REVIEW, make_room


def test_review_of_a_journaled_session_is_the_exact_table(tmp_path: Path) -> None:
    room, session_id = make_room(tmp_path)
    with Journal.open(room / "sessions.db", create=False) as journal:
        review = build_review(journal.session(session_id), journal.events(session_id))
    assert render_text(review) == EXPECTED_REVIEW


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


def test_sound_lost_and_back_and_a_device_back_are_reviewed_with_the_errors(
    tmp_path: Path,
) -> None:
    room, session_id = make_room(tmp_path)
    with Journal.open(room / "sessions.db", create=False) as journal:
        events = [
            *journal.events(session_id),
            {"type": "audio_fault", "t": 3000.0, "output": "music", "why": "PulseAudio is gone"},
            {"type": "device_back", "t": 3001.0, "source": "cues", "message": "lights is back"},
            {"type": "audio_restored", "t": 3002.0, "output": "music", "why": "PulseAudio"},
        ]
        review = build_review(journal.session(session_id), events)
    assert [(e.t, e.source, e.message) for e in review.errors[-3:]] == [
        (3000.0, "music", "no sound: PulseAudio is gone"),
        (3001.0, "cues", "back: lights is back"),
        (3002.0, "music", "sound back: PulseAudio"),
    ]
