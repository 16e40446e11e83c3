"""The moments ahead, with exact expectations."""

from setandsetting.core import session
from setandsetting.core.controls import Control
from setandsetting.core.session import Moment, MomentKind
from tests.core.session.three_phases import PROFILE, SLOTS, run_to
from tests.support.timelines import of_type, timeline


def test_an_open_last_phase_runs_until_stopped():
    profile = {"name": "open", "phases": [{"id": "x", "duration": "open", "music": "x"}]}
    state, _ = session.start(timeline(profile, {"x": [60.0]}))
    state, _ = run_to(state, 100_000)
    assert state.ended is None
    assert session.next_moment(state) is None


def test_chime_moments_are_the_checkins_and_escalations_ahead_with_their_audiences():
    """So the chime device can sleep between chimes."""
    state, _ = session.start(timeline(PROFILE, SLOTS))
    assert session.chime_moments(state) == []  # phase a has no check-ins
    state, ev = run_to(state, 60.0)
    assert [e.data["id"] for e in of_type(ev, "checkin_due")] == ["b.0.1"]
    # the vitals every 30 s (counted from a's start), the one just due escalating at 70
    assert sorted(session.chime_moments(state)) == [(70.0, "staff"), (90.0, "staff")]
    state, _ = session.apply(state, Control("ack"), 69.6)
    assert session.chime_moments(state) == [(90.0, "staff")]


def test_upcoming_names_each_moment_with_its_kind_and_subject():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    assert session.upcoming(state) == [
        Moment(60.0, MomentKind.PHASE_END, None),
        Moment(35.0, MomentKind.TRACK_TURN, 0),  # voice 0 turns one crossfade before its end
    ]
    state, _ = run_to(state, 37.5)
    assert session.upcoming(state) == [
        Moment(40.0, MomentKind.VOICE_GONE, 0),
        Moment(60.0, MomentKind.PHASE_END, None),
        Moment(70.0, MomentKind.TRACK_TURN, 1),
    ]
    state, _ = run_to(state, 65.0)
    assert session.upcoming(state) == [
        Moment(180.0, MomentKind.PHASE_END, None),
        Moment(90.0, MomentKind.CHECKIN, 0),  # the index of the rule in b's check-ins
        Moment(70.0, MomentKind.ESCALATE, "b.0.1"),  # the id of the waiting check-in
        Moment(155.0, MomentKind.TRACK_TURN, 2),
    ]


def test_at_equal_times_the_phase_end_comes_before_an_escalation():
    """b.0.4 escalates a third time at 180, as b ends: the end goes first, and the waiting
    check-in is reminded as c opens."""
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 175.0)
    assert sorted(session.upcoming(state)) == [
        Moment(180.0, MomentKind.PHASE_END, None),
        Moment(180.0, MomentKind.ESCALATE, "b.0.4"),
    ]
    assert session.first(session.upcoming(state)) == Moment(180.0, MomentKind.PHASE_END, None)
    _, ev = run_to(state, 180.0)
    assert [(e.t, e.type) for e in ev] == [
        (180.0, "phase_started"),
        (180.0, "track_started"),
        (180.0, "checkin_escalated"),
    ]


def test_first_orders_by_time_then_kind_and_keeps_the_list_order_on_a_full_tie():
    moments = [
        Moment(60.0, MomentKind.CHECKIN, 1),
        Moment(60.0, MomentKind.CHECKIN, 0),
        Moment(60.0, MomentKind.CUE, None),
        Moment(61.0, MomentKind.VOICE_GONE, 3),
    ]
    assert session.first(moments) == Moment(60.0, MomentKind.CUE, None)
    assert session.first(moments[:2]) == Moment(60.0, MomentKind.CHECKIN, 1)
    assert session.first([]) is None


def test_an_ended_session_has_no_moments_ahead():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = session.apply(state, Control("stop"), 70.0)
    assert session.upcoming(state) == []
    assert session.next_moment(state) is None
    assert session.chime_moments(state) == []
