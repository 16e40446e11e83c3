"""The clinical record in the session: readings at an ack, alerts, rechecks, doses, ready,
and the discharge floor on stop. Exact events, pure."""

from setandsetting.core import session
from setandsetting.core.controls import Control, parse_control
from tests.support.timelines import of_type, timeline

PROFILE = {
    "name": "clinical",
    "route": "intranasal",
    "alerts": {"recheck_after": "5m"},
    "phases": [
        {
            "id": "arrival",
            "duration": "10m",
            "checkins": [
                {"at": "5m", "kind": "bp", "ack": "required", "record": ["bp", "hr"]},
            ],
        },
        {"id": "dosing", "duration": "10m"},
        {
            "id": "peak",
            "duration": "40m",
            "checkins": [
                {
                    "at": "40m",
                    "from": "dosing",
                    "kind": "bp",
                    "ack": "required",
                    "record": ["bp", "hr", "spo2"],
                },
            ],
        },
        {
            "id": "observation",
            "duration": "10m",
            "not_before": {"after": "dosing", "at_least": "2h"},
        },
        {"id": "discharge", "duration": "open"},
    ],
}
STAFF_CHIME = {"audience": "staff", "sound": "bell", "level": 0.45}


def started():
    state, _ = session.start(timeline(PROFILE))
    return state


def test_an_ack_with_readings_journals_them_with_units_and_a_pre_dose_alert():
    state, _ = session.advance(started(), 300.0)
    state, events = session.apply(state, parse_control("ack bp=150/95 hr=88"), 330.0)
    assert [(e.type, e.t, e.data) for e in events] == [
        (
            "checkin_acknowledged",
            330.0,
            {
                "id": "arrival.0.0",
                "kind": "bp",
                "latency_s": 30.0,
                "record": ["bp", "hr"],
                "skipped": [],
            },
        ),
        (
            "vitals_recorded",
            330.0,
            {
                "checkin": "arrival.0.0",
                "kind": "bp",
                "readings": {"bp": [150, 95], "hr": 88},
                "units": {"bp": "mm[Hg]", "hr": "/min"},
                "note": None,
                "skipped": [],
                "phase": "arrival",
            },
        ),
        (
            "vitals_alert",
            330.0,
            {
                "what": "bp_pre_dose_above",
                "measure": "bp",
                "value": "150/95",
                "threshold": "140/90",
                "message": "BP 150/95 above 140/90 before the dose: consider delaying",
                "checkin": "arrival.0.0",
                **STAFF_CHIME,
            },
        ),
    ]
    assert state.pending == ()


def test_the_foot_switch_ack_carries_no_reading_and_says_what_was_skipped():
    state, _ = session.advance(started(), 300.0)
    state, events = session.apply(state, Control("ack"), 310.0)
    assert [(e.type, e.data) for e in events] == [
        (
            "checkin_acknowledged",
            {
                "id": "arrival.0.0",
                "kind": "bp",
                "latency_s": 10.0,
                "record": ["bp", "hr"],
                "skipped": ["bp", "hr"],
            },
        ),
    ]


def test_a_reading_short_of_what_was_asked_names_the_rest_as_skipped():
    state, _ = session.advance(started(), 300.0)
    _, events = session.apply(state, parse_control("ack arrival.0.0 hr=70"), 310.0)
    assert of_type(events, "checkin_acknowledged")[0].data["skipped"] == ["bp"]
    assert of_type(events, "vitals_recorded")[0].data["skipped"] == ["bp"]
    assert of_type(events, "vitals_alert") == []


def test_an_alert_asks_for_a_recheck_that_falls_due_after_recheck_after():
    state, _ = session.advance(started(), 300.0)
    state, _ = session.apply(state, parse_control("ack bp=150/95 spo2=90"), 330.0)
    state, events = session.advance(state, 629.0)
    assert of_type(events, "checkin_due") == []
    state, events = session.advance(state, 630.0)
    assert [(e.t, e.data) for e in of_type(events, "checkin_due")] == [
        (
            630.0,
            {
                "id": "recheck.0",
                "kind": "recheck",
                "message": "Recheck: blood pressure and "
                "SpO2 (BP 150/95 above 140/90 before the dose: consider delaying; SpO2 90% below "
                "92% at 0:05:30)",
                "audience": "staff",
                "sound": "bell",
                "level": 0.45,
                "ack": "required",
                "phase": "dosing",
                "record": ["bp", "spo2"],
            },
        )
    ]
    assert [p.id for p in state.pending] == ["recheck.0"]
    state, events = session.apply(state, parse_control("ack recheck.0 bp=128/80 spo2=97"), 640.0)
    assert of_type(events, "vitals_recorded")[0].data["checkin"] == "recheck.0"
    assert of_type(events, "vitals_alert") == []
    assert state.pending == () and state.clinical.rechecks == ()


def test_after_the_dose_only_the_any_time_thresholds_apply():
    state, _ = session.advance(started(), 300.0)
    state, _ = session.apply(state, parse_control("dose esketamine 56mg lot=A123"), 400.0)
    state, events = session.apply(state, parse_control("ack bp=150/95"), 410.0)
    assert of_type(events, "vitals_alert") == []
    _, events = session.apply(state, parse_control("ack bp=180/100 hr=44"), 420.0)
    assert [(e.data["what"], e.data["value"], e.data["threshold"]) for e in events[1:]] == [
        ("bp_at_or_above", "180/100", "180/110"),
        ("hr_below", "44", "45"),
    ]


def test_readings_with_no_check_in_waiting_are_journaled_on_their_own():
    _, events = session.apply(started(), parse_control("ack spo2=97 note=resting"), 60.0)
    assert [(e.type, e.data) for e in events] == [
        (
            "vitals_recorded",
            {
                "checkin": None,
                "kind": None,
                "readings": {"spo2": 97},
                "units": {"spo2": "%"},
                "note": "resting",
                "skipped": [],
                "phase": "arrival",
            },
        ),
    ]


def test_doses_are_counted_take_the_profile_route_and_the_first_starts_the_dose_clock():
    state, first = session.apply(started(), parse_control("dose esketamine 56mg lot=A1"), 610.0)
    state, second = session.apply(state, parse_control("dose esketamine 28mg route=im"), 900.0)
    assert [(e.t, e.data) for e in of_type(first + second, "dose_given")] == [
        (
            610.0,
            {
                "n": 1,
                "name": "esketamine",
                "amount": 56.0,
                "unit": "mg",
                "route": "intranasal",
                "lot": "A1",
            },
        ),
        (
            900.0,
            {
                "n": 2,
                "name": "esketamine",
                "amount": 28.0,
                "unit": "mg",
                "route": "im",
                "lot": None,
            },
        ),
    ]
    assert session.dose_time(state) == 610.0


def test_without_a_dose_recorded_the_dose_clock_starts_with_the_dosing_phase():
    assert session.dose_time(started()) is None
    state, _ = session.advance(started(), 601.0)
    assert session.dose_time(state) == 600.0


def test_ready_is_journaled_once_with_the_time_since_the_dose():
    state, _ = session.advance(started(), 6000.0)
    state, events = session.apply(state, Control("ready"), 6000.0)
    assert [(e.type, e.data) for e in events] == [("ready_to_leave", {"since_dose_s": 5400.0})]
    _, events = session.apply(state, Control("ready"), 6100.0)
    assert events[0].data == {"action": "ready", "reason": "ready to leave was recorded at 1:40:00"}


def test_stop_before_the_discharge_floor_asks_for_a_reason_and_journals_it():
    state, _ = session.advance(started(), 3600.0)
    state, events = session.apply(state, parse_control("stop"), 3600.0)
    assert [(e.type, e.data) for e in events] == [
        (
            "control_refused",
            {
                "action": "stop",
                "reason": "the session may not end before 2:10:00, 1h10m from now "
                "(observation lasts until 2h00m after dosing began); to stop now, give the "
                "reason: stop REASON",
            },
        ),
    ]
    assert state.ended is None
    state, events = session.apply(state, parse_control("stop patient asked to leave"), 3610.0)
    assert [(e.type, e.data) for e in events if e.type != "track_ended"] == [
        (
            "stop_reason",
            {
                "reason": "patient asked to leave",
                "floor_t": 7800.0,
                "why": "observation lasts until 2h00m after dosing began",
            },
        ),
        # the BP checks never answered still waited: the stop closes them as missed
        ("checkin_missed", {"id": "arrival.0.0", "kind": "bp", "phase": "arrival", "due_t": 300.0}),
        ("checkin_missed", {"id": "peak.0.0", "kind": "bp", "phase": "peak", "due_t": 3000.0}),
        ("session_ended", {"reason": "stopped"}),
    ]


def test_before_the_dose_the_floor_is_still_ahead_and_after_it_stop_needs_no_reason():
    _, events = session.apply(started(), parse_control("stop"), 60.0)
    assert events[0].data["reason"] == (
        "the session may not end before its floor (observation lasts until 2h00m after dosing "
        "began); to stop now, give the reason: stop REASON"
    )
    state, _ = session.advance(started(), 7900.0)
    assert state.plan.id == "discharge"
    _, events = session.apply(state, parse_control("stop"), 7900.0)
    assert [e.type for e in events if e.type != "checkin_missed"] == ["session_ended"]


def test_the_programs_own_stop_is_not_held_to_the_floor():
    _, events = session.apply(started(), Control("stop"), 60.0)
    assert [e.type for e in events] == ["session_ended"]


def test_the_session_facts_are_journaled_once():
    facts = {
        "medications": {
            "benzodiazepines": False,
            "non-benzodiazepine sedative-hypnotics": False,
            "psychostimulants": True,
            "maois": False,
            "opioids": False,
        },
        "first_treatment": True,
        "intention": "to rest",
    }
    state, events = session.apply(started(), Control("facts", data=facts), 0.0)
    assert [(e.type, e.data) for e in events] == [("session_facts", facts)]
    _, events = session.apply(state, Control("facts", data=facts), 1.0)
    assert events[0].data["reason"] == "the session facts are already recorded"


def test_readings_without_an_id_go_to_the_oldest_check_in_that_asks_for_them():
    profile = {
        "name": "two",
        "phases": [
            {
                "id": "a",
                "duration": "open",
                "checkins": [
                    {"at": "1m", "kind": "device", "ack": "required"},
                    {"at": "2m", "kind": "bp", "ack": "required", "record": ["bp"]},
                ],
            }
        ],
    }
    state, _ = session.advance(session.start(timeline(profile))[0], 130.0)
    assert [p.id for p in state.pending] == ["a.0.0", "a.1.0"]
    state, events = session.apply(state, parse_control("ack bp=120/80"), 130.0)
    assert [e.data["id"] for e in of_type(events, "checkin_acknowledged")] == ["a.1.0"]
    assert [p.id for p in state.pending] == ["a.0.0"]  # the device prompt still waits
    state, events = session.apply(state, parse_control("ack hr=70"), 140.0)  # none asks hr
    assert [e.data["id"] for e in of_type(events, "checkin_acknowledged")] == ["a.0.0"]
