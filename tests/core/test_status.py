"""The clinician's glance at t: the snapshot and its one-line form, exactly."""

import pytest

from setandsetting.core import session
from setandsetting.core.controls import Control, parse_control
from setandsetting.core.playlist import Patient
from setandsetting.core.session import dose_time
from setandsetting.core.status import snapshot, status_line
from tests.core.session.three_phases import PROFILE, SLOTS, run_to
from tests.support.timelines import of_type, timeline


def ahead(state):
    nxt = session.forecast(state).next_checkin
    return None if nxt is None else (nxt.t, nxt.kind, nxt.audience, nxt.phase)


def test_the_next_checkin_is_the_one_the_session_fires_next_in_whichever_phase():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    assert ahead(state) == (60.0, "vitals", "staff", "b")  # a has none; b opens with one
    state, _ = run_to(state, 65.0)
    assert ahead(state) == (90.0, "vitals", "staff", "b")
    _, ev = run_to(state, 95.0)
    due = of_type(ev, "checkin_due")
    assert [(e.t, e.data["kind"], e.data["audience"]) for e in due] == [(90.0, "vitals", "staff")]


def test_a_checkin_at_the_phase_end_is_not_next_and_an_ended_session_has_none():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 155.0)
    assert ahead(state) is None  # b.0.5 would fall at 180, as b ends; c has none
    state, _ = session.apply(state, Control("stop"), 156.0)
    assert ahead(state) is None
    assert session.forecast(state) == session.Forecast(None, (), 156.0)


def test_the_forecast_moves_with_an_extension_and_stops_at_an_open_phase():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    assert session.forecast(state).phases == (("b", 60.0), ("c", 180.0))
    assert session.forecast(state).ends_at == 240.0
    state, _ = run_to(state, 70.0)
    state, _ = session.apply(state, Control("extend", 45.0), 70.0)
    assert session.forecast(state) == session.Forecast(
        session.CheckinAhead(90.0, "vitals", "staff", "b", ""), (("c", 225.0),), 285.0
    )
    open_end = {**PROFILE, "phases": [*PROFILE["phases"][:2], {"id": "c", "duration": "open"}]}
    state, _ = session.start(timeline(open_end, SLOTS))
    assert session.forecast(state).phases == (("b", 60.0), ("c", 180.0))
    assert session.forecast(state).ends_at is None


def test_the_dose_is_the_dose_phase_start_once_it_has_begun():
    dosing = {**PROFILE, "phases": [PROFILE["phases"][0], {**PROFILE["phases"][1], "id": "dosing"}]}
    state, _ = session.start(timeline(dosing, SLOTS))
    assert dose_time(state) is None
    state, _ = session.apply(state, Control("next"), 42.0)
    assert dose_time(state) == 42.0
    marked = {  # no phase so named: the one holding a `dose` check-in
        "name": "m",
        "phases": [
            {"id": "x", "duration": "10s"},
            {"id": "y", "duration": "10s", "checkins": [{"at": [0], "kind": "dose"}]},
        ],
    }
    state, _ = run_to(session.start(timeline(marked))[0], 11.0)
    assert dose_time(state) == 10.0
    assert dose_time(session.start(timeline(PROFILE, SLOTS))[0]) is None  # none marked
    state, _ = session.apply(state, parse_control("dose ketamine 35mg"), 14.0)
    assert dose_time(state) == 14.0  # the `dose` control says it better than the phase


LEVEL_65 = pytest.approx(0.4 + 0.2 * 5 / 120)  # b's curve, 40% to 60% over 120 s, at 5 s


def test_snapshot_of_a_running_session():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 65.0)
    assert snapshot(state, 65.0) == {
        "t": 65.0,
        "ended": None,
        "patient": "P-test",
        "display_name": None,
        "profile_name": "test",
        "dose_t": None,
        "session_end": 240.0,
        "phase": "b",
        "phase_name": "b",
        "phase_index": 1,
        "phases": [
            {"id": "a", "name": "a", "planned_start": 0.0, "planned_end": 60.0, "start": 0.0},
            {"id": "b", "name": "b", "planned_start": 60.0, "planned_end": 180.0, "start": 60.0},
            {"id": "c", "name": "c", "planned_start": 180.0, "planned_end": 240.0, "start": None},
        ],
        "phase_started": 60.0,
        "phase_end": 180.0,
        "next_phase": {"id": "c", "name": "c", "t": 180.0},
        "remaining": 115.0,
        "extendable_left": 60.0,
        "next_allowed_at": None,
        "music": "playing",
        "audio_faults": [],
        "now_playing": {
            "voice": 2,
            "path": "/music/b-0.flac",
            "title": "b 0",
            "offset": 5.0,
            "level": LEVEL_65,
            "leaving": False,
        },
        "level": LEVEL_65,
        "nudge_pct": 0.0,
        "max_level": 0.8,
        "pending": [
            {
                "id": "b.0.1",
                "kind": "vitals",
                "message": "",
                "due_t": 60.0,
                "overdue_s": 5.0,
                "phase": "b",
                "audience": "staff",
                "escalations": 0,
                "record": [],
            }
        ],
        "next_checkin": {
            "t": 90.0,
            "kind": "vitals",
            "audience": "staff",
            "phase": "b",
            "message": "",
        },
        "clinical": {
            "dose_t": None,
            "since_dose_s": None,
            "doses": 0,
            "alerts": [],
            "thresholds": [
                "BP > 140/90 before the dose",
                "BP ≥ 180/110",
                "HR > 120",
                "HR < 45",
                "SpO2 < 92%",
            ],
            "rechecks": [],
            "ready_t": None,
            "discharge_floor_t": None,
            "intention": "",
        },
    }


def test_status_line_says_phase_time_left_music_level_and_what_waits():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    assert status_line(snapshot(state, 0.0)) == (
        "0:00:00  a (1m left)  a 0  level 40%  next vitals in 1m"  # b's first, across a's end
    )
    state, _ = run_to(state, 65.0)
    assert status_line(snapshot(state, 65.0)) == (
        "0:01:05  b (1m55s left)  b 0  level 41%  WAITING: vitals 5s overdue"
    )
    state, _ = session.apply(state, Control("ack"), 66.0)
    assert status_line(snapshot(state, 70.0)) == (
        "0:01:10  b (1m50s left)  b 0  level 42%  next vitals in 20s"
    )
    state, _ = session.apply(state, Control("pause"), 71.0)
    assert status_line(snapshot(state, 72.0)) == (
        "0:01:12  b (1m48s left)  music held  level 42%  next vitals in 18s"
    )
    state, _ = session.apply(state, Control("stop"), 80.0)
    assert status_line(snapshot(state, 80.0)) == "0:01:20  session ended (stopped)"


def test_status_line_of_an_open_phase_and_of_silence():
    profile = {"name": "open", "phases": [{"id": "x", "duration": "open", "level": "30%"}]}
    state, _ = session.start(timeline(profile))
    assert status_line(snapshot(state, 5.0)) == "0:00:05  x (open)  silence  level 30%"


def test_music_into_a_silent_output_is_no_sound_never_playing():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    faults = {"music": "the sound server is not answering", "staff_chimes": "sink muted"}
    snap = snapshot(state, 5.0, faults)
    assert snap["music"] == "no_sound"
    assert snap["audio_faults"] == [
        {"output": "music", "why": "the sound server is not answering"},
        {"output": "staff_chimes", "why": "sink muted"},
    ]
    assert status_line(snap) == (
        "0:00:05  a (55s left)  music NO SOUND (the sound server is not answering)  level 40%"
        "  staff chimes NO SOUND (sink muted)  next vitals in 55s"
    )


def test_held_music_stays_held_and_a_chime_fault_leaves_the_music_playing():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    held, _ = session.apply(state, Control("pause"), 1.0)
    assert snapshot(held, 2.0, {"music": "gone"})["music"] == "held"
    snap = snapshot(state, 2.0, {"patient_chimes": "no device"})
    assert snap["music"] == "playing"
    assert status_line(snap) == (
        "0:00:02  a (58s left)  a 0  level 40%  patient chimes NO SOUND (no device)"
        "  next vitals in 58s"
    )


def test_the_snapshot_names_the_patient_and_the_profile_as_their_files_do():
    state, _ = session.start(timeline(PROFILE, SLOTS, patient=Patient(display_name="Ann (demo)")))
    snap = snapshot(state, 1.0)
    assert (snap["patient"], snap["display_name"], snap["profile_name"]) == (
        "P-test",
        "Ann (demo)",
        "test",
    )


def test_the_forecast_key_changes_only_with_what_the_forecast_depends_on():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    later, ev = run_to(state, 50.0)  # a's second track came in: the music moved, nothing else
    assert of_type(ev, "track_started") and session.forecast_key(later) == session.forecast_key(
        state
    )
    assert session.forecast(later) == session.forecast(state)
    due, _ = run_to(later, 61.0)  # b began, its first vitals fell due
    assert session.forecast_key(due) != session.forecast_key(later)
    assert snapshot(due, 61.0, ahead=session.forecast(due)) == snapshot(due, 61.0)
