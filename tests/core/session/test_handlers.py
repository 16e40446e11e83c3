"""What each control does to a running session, with exact expectations."""

import pytest

from setandsetting.core import session
from setandsetting.core.controls import Control, parse_control
from setandsetting.core.events import describe
from setandsetting.core.session import voice_level, voices
from tests.core.session.one_slot import ONE_SLOT, ONE_SLOT_TRACKS
from tests.core.session.three_phases import PROFILE, SLOTS, run_to
from tests.support.timelines import of_type, timeline


def test_phase_started_carries_the_planned_time():
    state, events = session.start(timeline(PROFILE, SLOTS))
    state, more = session.apply(state, Control("next"), 20.0)
    started = of_type(events + more, "phase_started")
    assert [(e.t, e.data["phase"], e.data["planned_t"]) for e in started] == [
        (0.0, "a", 0.0),
        (20.0, "b", 60.0),
    ]
    assert of_type(more, "phase_advanced")[0].data == {"phase": "a", "planned_end_t": 60.0}


def test_extension_stretches_what_is_left_of_the_curve_without_a_jump():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 120.0)
    before = session.master_level(state, 120.0)
    state, events = session.apply(state, parse_control("extend 60s"), 120.0)
    assert of_type(events, "phase_extended")[0].data == {
        "phase": "b",
        "by_s": 60.0,
        "new_end_t": 240.0,
    }
    assert session.master_level(state, 120.0) == pytest.approx(before) == pytest.approx(0.5)
    assert session.master_level(state, 180.0) == pytest.approx(0.55)
    assert session.master_level(state, 239.999) == pytest.approx(0.6, abs=1e-4)
    state, more = run_to(state, 500.0)
    due = [(e.t, e.data["id"]) for e in of_type(more, "checkin_due")]
    assert due == [(150.0, "b.0.4"), (180.0, "b.0.5"), (210.0, "b.0.6")]
    assert of_type(more, "phase_started")[0].t == 240.0


def test_an_extension_beyond_what_remains_is_clamped_to_it_and_says_so():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 70.0)
    state, ev = session.apply(state, parse_control("extend 40s"), 70.0)
    assert [e.type for e in ev] == ["phase_extended"]
    state, ev2 = session.apply(state, parse_control("extend 30s"), 71.0)
    assert [(e.type, e.data) for e in ev2] == [
        ("phase_extended", {"phase": "b", "by_s": 20.0, "new_end_t": 240.0, "asked_s": 30.0})
    ]
    assert describe(ev2[0].to_dict()) == (
        "phase b extended by 20s (asked 30s: the most it may still take)"
    )
    assert session.phase_end(state) == 240.0
    _, ev3 = session.apply(state, parse_control("extend 1m"), 72.0)
    refused = of_type(ev3, "control_refused")[0].data
    assert refused == {
        "action": "extend",
        "reason": "b is already extended by the most it may be (1m)",
    }


def test_not_extendable_and_open_phases_refuse_extension():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    _, ev = session.apply(state, parse_control("extend 1m"), 1.0)
    assert of_type(ev, "control_refused")[0].data["reason"] == "a is not extendable"


def test_next_is_refused_before_the_floor_with_the_reason():
    profile = {
        **PROFILE,
        "phases": [
            dict(PROFILE["phases"][0]),
            {**PROFILE["phases"][1], "not_before": {"after": "a", "at_least": "150s"}},
            PROFILE["phases"][2],
        ],
    }
    state, _ = session.start(timeline(profile, SLOTS))
    state, _ = session.apply(state, Control("next"), 10.0)
    state, ev = session.apply(state, Control("next"), 100.0)
    assert of_type(ev, "control_refused")[0].data["reason"] == (
        "b may not end before 2m30s (2m30s after a began); 50s to go"
    )
    state, ev = session.apply(state, Control("next"), 150.0)
    assert of_type(ev, "phase_started")[0].data["phase"] == "c"


def test_next_on_the_last_phase_is_refused():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = session.apply(state, Control("next"), 1.0)
    state, _ = session.apply(state, Control("next"), 2.0)
    _, ev = session.apply(state, Control("next"), 3.0)
    assert "last phase" in of_type(ev, "control_refused")[0].data["reason"]


def test_ack_records_latency_and_stops_escalation():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 72.0)
    state, ev = session.apply(state, Control("ack"), 72.5)
    assert [(e.type, e.data["id"], e.data["latency_s"]) for e in ev] == [
        ("checkin_acknowledged", "b.0.1", 12.5)
    ]
    state, ev = run_to(state, 89.0)
    assert of_type(ev, "checkin_escalated") == []
    _, ev = session.apply(state, Control("ack"), 89.5)
    assert of_type(ev, "control_refused")[0].data["reason"] == "no check-in is waiting"


def test_moving_on_drops_check_ins_not_yet_come_and_keeps_the_waiting_one():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 95.0)
    state, ev = session.apply(state, Control("next"), 95.0)
    assert of_type(ev, "checkin_missed") == []
    assert of_type(ev, "phase_advanced")[0].data == {
        "phase": "b",
        "planned_end_t": 180.0,
        "pending": ["b.0.1", "b.0.2"],
    }
    assert describe(of_type(ev, "phase_advanced")[0].to_dict()) == (
        "moved on from b early; still waiting: b.0.1, b.0.2"
    )
    assert [(p["id"], p["phase"], p["overdue_s"]) for p in session.pending_checkins(state)] == [
        ("b.0.1", "b", 35.0),
        ("b.0.2", "b", 5.0),
    ]
    _, ev = run_to(state, 10_000)
    assert of_type(ev, "checkin_due") == []
    assert [(e.t, e.data) for e in of_type(ev, "checkin_missed")] == [
        # unanswered at the end
        (155.0, {"id": "b.0.1", "kind": "vitals", "phase": "b", "due_t": 60.0}),
        (155.0, {"id": "b.0.2", "kind": "vitals", "phase": "b", "due_t": 90.0}),
    ]


def test_a_waiting_checkin_escalates_on_into_the_next_phase_until_acknowledged():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 91.0)
    state, ev = session.apply(state, Control("next"), 91.0)  # b.0.2 fell due at 90
    state, ev = run_to(state, 125.0)
    escalated = of_type(ev, "checkin_escalated")
    assert [(e.t, e.data["id"], e.data["count"], e.data["phase"]) for e in escalated] == [
        (100.0, "b.0.2", 1, "b"),
        (110.0, "b.0.2", 2, "b"),
        (120.0, "b.0.2", 3, "b"),
    ]
    assert session.phase_end(state) == 151.0 and state.plan.id == "c"
    state, ev = session.apply(state, Control("ack", "b.0.2"), 126.0)
    assert [(e.type, e.data) for e in ev] == [
        ("checkin_acknowledged", {"id": "b.0.2", "kind": "vitals", "latency_s": 36.0})
    ]
    assert [p["id"] for p in session.pending_checkins(state)] == ["b.0.1"]


def test_dismiss_takes_a_waiting_checkin_off_with_its_reason():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 95.0)  # b.0.1 (due 60) and b.0.2 (due 90) wait
    state, ev = session.apply(state, parse_control("dismiss b.0.1 taken by hand"), 96.0)
    assert [(e.type, e.data) for e in ev] == [
        (
            "checkin_dismissed",
            {
                "id": "b.0.1",
                "kind": "vitals",
                "phase": "b",
                "reason": "taken by hand",
                "overdue_s": 36.0,
            },
        )
    ]
    assert describe(ev[0].to_dict()) == "check-in vitals dismissed (36s overdue): taken by hand"
    assert [p["id"] for p in session.pending_checkins(state)] == ["b.0.2"]
    state, ev = session.apply(state, parse_control("dismiss patient asleep"), 97.0)
    assert [(e.data["id"], e.data["reason"]) for e in ev] == [("b.0.2", "patient asleep")]
    _, ev = session.apply(state, parse_control("dismiss b.0.2 again"), 98.0)
    assert of_type(ev, "control_refused")[0].data["reason"] == "no check-in is waiting"
    _, ev = session.apply(state, Control("dismiss", None, message=" "), 98.0)
    assert of_type(ev, "control_refused")[0].data["reason"] == (
        "dismissing a check-in needs a reason"
    )


def test_hold_fades_out_and_resume_continues_at_the_same_place():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, ev = session.apply(state, Control("pause"), 10.0)
    assert [e.type for e in ev] == ["music_held"]
    (leaving,) = voices(state)
    assert voice_level(state, leaving, 11.5) == pytest.approx(0.2)
    state, ev = run_to(state, 20.0)
    assert [(e.type, e.data["reason"], e.t) for e in ev] == [("track_ended", "held", 13.0)]
    state, ev = session.apply(state, Control("resume"), 30.0)
    assert [(e.type, e.data.get("offset")) for e in ev] == [
        ("music_resumed", None),
        ("track_started", 13.0),
    ]
    (v,) = voices(state)
    assert voice_level(state, v, 30.0) == 0.0
    assert voice_level(state, v, 32.0) == pytest.approx(0.2)


def test_quiet_sends_the_room_cues_and_resume_brings_the_music_back():
    tl = timeline(PROFILE, SLOTS, on_quiet=({"midi": {"type": "program_change", "program": 0}},))
    state, _ = session.start(tl)
    state, ev = session.apply(state, Control("quiet"), 10.0)
    assert [e.type for e in ev] == ["quiet", "cue_sent"]
    assert ev[1].data["payload"] == {"midi": {"type": "program_change", "channel": 1, "program": 0}}
    state, ev = run_to(state, 20.0)
    assert ev[0].data["reason"] == "quiet"
    state, ev = session.apply(state, Control("resume"), 25.0)
    assert [e.type for e in ev] == ["music_resumed", "track_started"]


def test_skip_crossfades_into_the_next_track():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, ev = session.apply(state, Control("skip"), 10.0)
    assert [(e.type, e.data["title"]) for e in ev] == [("track_started", "a 1")]
    state, ev = run_to(state, 16.0)
    assert [(e.type, e.data["reason"], e.t) for e in ev] == [("track_ended", "skipped", 15.0)]


def test_level_nudge_glides_and_never_exceeds_the_cap():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, ev = session.apply(state, parse_control("level +50%"), 10.0)
    assert ev[0].data["level"] == pytest.approx(0.6)
    assert session.master_level(state, 10.0) == pytest.approx(0.4)
    assert session.master_level(state, 12.0) == pytest.approx(0.6)
    state, ev = session.apply(state, parse_control("level +100%"), 20.0)
    assert ev[0].data["level"] == pytest.approx(0.8)
    assert max(session.master_level(state, 20 + i / 10) for i in range(50)) <= 0.8


def test_a_level_step_in_db_is_the_same_step_heard_at_any_level():
    state, _ = run_to(session.start(timeline(PROFILE, SLOTS))[0], 10.0)
    curve = session.curve_level(state, 10.0)
    state, ev = session.apply(state, parse_control("level -6dB"), 10.0)
    assert ev[0].data["level"] == pytest.approx(curve * 10 ** (-6 / 60), abs=1e-4)
    state, ev = session.apply(state, parse_control("level -6dB"), 13.0)
    assert ev[0].data["level"] == pytest.approx(curve * 10 ** (-12 / 60), abs=1e-4)
    state, ev = session.apply(state, parse_control("level +12dB"), 16.0)
    assert ev[0].data["nudge_pct"] == 0.0  # back where it began
    assert session.master_level(state, 18.0) == pytest.approx(curve)


def test_a_failed_track_is_skipped_with_an_error_and_the_music_goes_on():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, ev = session.apply(state, Control("track_failed", voice=0, message="no such file"), 0.5)
    assert [e.type for e in ev] == ["error", "track_ended", "track_started"]
    assert ev[0].data["message"] == "no such file"
    assert ev[1].data["reason"] == "error"
    assert ev[2].data["title"] == "a 1"


def test_every_track_failing_ends_in_silence_not_a_loop():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = session.apply(state, Control("track_failed", voice=0), 0.5)
    state, ev = session.apply(state, Control("track_failed", voice=1), 0.6)
    assert [e.type for e in ev] == ["error", "track_ended", "error"]
    assert state.voice is None


def test_stop_ends_the_session_and_controls_after_it_are_refused():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, ev = session.apply(state, Control("stop"), 30.0)
    assert [e.type for e in ev] == ["track_ended", "session_ended"]
    assert ev[-1].data == {"reason": "stopped"}
    _, ev = session.apply(state, Control("next"), 31.0)
    assert ev[0].data["reason"] == "the session has ended"


def _tracks(events):
    return [
        (e.t, e.type, e.data["title"], e.data.get("offset", e.data.get("reason")))
        for e in events
        if e.type.startswith("track")
    ]


def test_extend_and_next_keep_a_continued_track_playing():
    state, events = session.start(timeline(ONE_SLOT, ONE_SLOT_TRACKS))
    state, more = session.apply(state, Control("next"), 30.0)  # a -> b at 30 s
    events += more
    state, more = session.apply(state, parse_control("extend 30s"), 40.0)  # b ends at 120 s
    events += more
    state, more = run_to(state, 200.0)
    events += more
    assert [(e.t, e.data["phase"]) for e in of_type(events, "phase_started")] == [
        (0.0, "a"),
        (30.0, "b"),
        (120.0, "c"),
    ]
    assert _tracks(events) == [
        (0.0, "track_started", "x 0", 0.0),
        (95.0, "track_started", "x 1", 0.0),
        (100.0, "track_ended", "x 0", "finished"),
        (180.0, "track_ended", "x 1", "phase_end"),
    ]


def test_hold_across_a_phase_change_resumes_the_continued_track_where_it_was():
    state, events = session.start(timeline(ONE_SLOT, ONE_SLOT_TRACKS))
    state, more = session.apply(state, Control("pause"), 50.0)
    events += more
    state, more = run_to(state, 70.0)  # b begins at 60 s while the music is held
    events += more
    assert state.resume_point == (0, 53.0)  # where the 3 s hold fade ended
    state, more = session.apply(state, Control("resume"), 70.0)
    events += more
    assert _tracks(events) == [
        (0.0, "track_started", "x 0", 0.0),
        (53.0, "track_ended", "x 0", "held"),
        (70.0, "track_started", "x 0", 53.0),
    ]
    assert state.voice.phase == 1 and state.voice.fade_in == 4.0
    # Resumed to b's curve (60 % -> 50 %): 58.5 % at 79 s once the fade-in is over.
    assert voice_level(state, state.voice, 79.0) == pytest.approx(0.6 - 0.1 * 19 / 60)
