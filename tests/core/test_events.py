"""The event vocabulary: one Literal, checked when an event is made; its dict and text."""

from datetime import UTC, datetime, timedelta, timezone
from typing import get_args

import pytest

from setandsetting.core.events import (
    EVENT_TYPES,
    TRACK_END_REASONS,
    Event,
    EventType,
    TrackEndReason,
    describe,
    wall_at,
)

STARTED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_the_runtime_sets_are_the_literals():
    assert frozenset(get_args(EventType)) == EVENT_TYPES
    assert len(get_args(EventType)) == len(EVENT_TYPES) == 32
    assert (
        TRACK_END_REASONS
        == frozenset(get_args(TrackEndReason))
        == {
            "finished",
            "skipped",
            "phase_end",
            "error",
            "quiet",
            "held",
            "stopped",
            "interrupted",
        }
    )


def test_an_unknown_event_type_is_refused_where_it_is_made():
    with pytest.raises(ValueError) as caught:
        Event("phase_begun", 1.0, {"phase": "a"})  # type: ignore[arg-type]
    assert str(caught.value) == (
        "unknown event type 'phase_begun': not in the vocabulary (core/events.py)"
    )


def test_a_track_ended_needs_a_known_reason():
    with pytest.raises(ValueError) as caught:
        Event("track_ended", 1.0, {"path": "/m/a.flac", "reason": "faded"})
    assert str(caught.value) == (
        "unknown track_ended reason 'faded': one of error, finished, held, interrupted, "
        "phase_end, quiet, skipped, stopped"
    )
    with pytest.raises(ValueError, match="unknown track_ended reason None"):
        Event("track_ended", 1.0, {"path": "/m/a.flac"})
    for reason in ("held", "interrupted"):
        assert Event("track_ended", 1.0, {"reason": reason}).data == {"reason": reason}


def test_to_dict_puts_type_t_and_wall_first_and_rounds_t():
    event = Event("note", 90.12345, {"text": "calm"})
    assert list(event.to_dict(STARTED).items()) == [
        ("type", "note"),
        ("t", 90.123),
        ("wall", "2026-11-26T09:01:30.123+00:00"),
        ("text", "calm"),
    ]
    assert event.to_dict() == {"type": "note", "t": 90.123, "text": "calm"}


def test_wall_at_is_utc_with_milliseconds_whatever_the_zone_of_the_start():
    local = STARTED.astimezone(timezone(timedelta(hours=1)))
    assert wall_at(local, 0.0005) == "2026-11-26T09:00:00.000+00:00"
    assert wall_at(STARTED, 3661.5) == "2026-11-26T10:01:01.500+00:00"


@pytest.mark.parametrize(
    ("event", "text"),
    [
        (
            {"type": "session_started", "profile": "IM", "patient": "P-1"},
            "session started: IM for P-1",
        ),
        (
            {"type": "phase_started", "phase": "peak", "planned_t": 600.0},
            "phase peak started (planned 0:10:00)",
        ),
        ({"type": "phase_started", "phase": "peak", "planned_t": None}, "phase peak started"),
        ({"type": "phase_extended", "phase": "peak", "by_s": 300.0}, "phase peak extended by 5m"),
        ({"type": "phase_advanced", "phase": "peak"}, "moved on from peak early"),
        (
            {"type": "track_started", "title": "Drift", "path": "/m/d.flac", "offset": 12.0},
            "track Drift from 12s",
        ),
        (
            {"type": "track_started", "title": "", "path": "/m/d.flac", "offset": 0.0},
            "track /m/d.flac",
        ),
        (
            {"type": "track_ended", "title": "Drift", "path": "/m/d.flac", "reason": "held"},
            "track Drift ended (held)",
        ),
        (
            {"type": "level_changed", "level": 0.555, "nudge_pct": -5.0},
            "level set to 56% (nudge -5%)",
        ),
        (
            {"type": "checkin_due", "kind": "bp", "audience": "staff", "message": "BP?"},
            "check-in bp for staff: BP?",
        ),
        (
            {"type": "checkin_acknowledged", "id": "b.0.1", "kind": "bp", "latency_s": 42.5},
            "check-in bp acknowledged after 42s",
        ),
        (
            {"type": "checkin_escalated", "id": "b.0.1", "count": 2},
            "check-in b.0.1 not acknowledged: reminder 2",
        ),
        ({"type": "cue_sent", "kind": "midi", "target": None}, "cue midi to default"),
        ({"type": "note", "text": "calm"}, "note: calm"),
        ({"type": "error", "source": "music", "message": "gone"}, "error (music): gone"),
        (
            {"type": "control_refused", "action": "next", "reason": "too early"},
            "next refused: too early",
        ),
        ({"type": "session_resumed", "gap_s": 95.0}, "session resumed after a gap of 1m35s"),
        (
            {"type": "daemon_stopped"},
            "the room daemon stopped; the session resumes when it starts again",
        ),
        ({"type": "session_ended", "reason": "completed"}, "session ended (completed)"),
        ({"type": "music_held"}, "music held"),
        (
            {
                "type": "dose_given",
                "n": 1,
                "name": "esketamine",
                "amount": 56.0,
                "unit": "mg",
                "route": "intranasal",
                "lot": "A1",
            },
            "dose 1: esketamine 56 mg route intranasal lot A1",
        ),
        (
            {
                "type": "vitals_recorded",
                "readings": {"bp": [150, 95], "dissociation": True},
                "note": "calm",
                "skipped": ["hr"],
            },
            "readings: bp 150/95, dissociation yes, note: calm (not taken: hr)",
        ),
        ({"type": "vitals_recorded", "readings": {}, "skipped": []}, "readings: none"),
        ({"type": "vitals_alert", "message": "SpO2 90% below 92%"}, "ALERT SpO2 90% below 92%"),
        (
            {
                "type": "session_facts",
                "medications": {"opioids": True, "maois": False},
                "first_treatment": False,
            },
            "session facts: concomitant medications opioids; first treatment no",
        ),
        (
            {"type": "session_facts", "medications": {}, "first_treatment": None},
            "session facts: concomitant medications not asked; first treatment not asked",
        ),
        ({"type": "ready_to_leave", "since_dose_s": 60.0}, "judged ready to leave"),
        (
            {"type": "stop_reason", "reason": "asked to leave"},
            "stopped before the discharge floor: asked to leave",
        ),
        ({"type": "device_back", "source": "music", "message": "x"}, "device back"),
        (
            {"type": "checkin_missed", "id": "peak.0.1", "kind": "vitals", "due_t": 2400.0},
            "check-in vitals peak.0.1 (due 0:40:00) missed",
        ),
        ({"type": "checkin_missed", "id": "peak-vitals-2"}, "check-in peak-vitals-2 missed"),
        (
            {"type": "audio_fault", "output": "patient_chimes", "why": "the sink is muted"},
            "NO SOUND on patient chimes: the sink is muted",
        ),
        (
            {"type": "audio_restored", "output": "music", "why": "the server answers again"},
            "sound back on music: the server answers again",
        ),
    ],
)
def test_describe_says_each_event_in_one_short_sentence(event, text):
    assert describe({"t": 0.0, **event}) == text
