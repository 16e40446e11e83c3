"""The session moving through its moments without controls, with exact expectations."""

import pytest

from setandsetting.core import session
from setandsetting.core.session.transitions import Run
from tests.core.session.three_phases import PROFILE, SLOTS, run_to
from tests.support.timelines import of_type, timeline


def summary(events):
    out = []
    for e in events:
        d = e.data
        key = d.get("phase") if e.type.startswith("phase") else d.get("title", d.get("id", ""))
        if e.type == "track_ended":
            key = f"{d['title']}/{d['reason']}"
        out.append((e.t, e.type, key))
    return out


def test_a_session_without_controls_runs_exactly_as_planned():
    state, events = session.start(timeline(PROFILE, SLOTS))
    state, more = run_to(state, 10_000)
    assert state.ended == "completed"
    got = [x for x in summary(events + more) if x[1] not in ("checkin_escalated",)]
    assert got == [
        (0.0, "session_started", ""),
        (0.0, "phase_started", "a"),
        (0.0, "track_started", "a 0"),
        (35.0, "track_started", "a 1"),
        (40.0, "track_ended", "a 0/finished"),
        (60.0, "phase_started", "b"),
        (60.0, "track_started", "b 0"),
        (60.0, "checkin_due", "b.0.1"),
        (65.0, "track_ended", "a 1/phase_end"),
        (90.0, "checkin_due", "b.0.2"),
        (120.0, "checkin_due", "b.0.3"),
        (150.0, "checkin_due", "b.0.4"),
        (160.0, "track_ended", "b 0/finished"),
        (180.0, "phase_started", "c"),
        (180.0, "track_started", "c 0"),
        (240.0, "track_ended", "c 0/phase_end"),
        # unanswered, each waited on (into c) until the session ended: missed
        (240.0, "checkin_missed", "b.0.1"),
        (240.0, "checkin_missed", "b.0.2"),
        (240.0, "checkin_missed", "b.0.3"),
        (240.0, "checkin_missed", "b.0.4"),
        (240.0, "session_ended", ""),
    ]
    escalations = [(e.t, e.data["id"], e.data["count"]) for e in of_type(more, "checkin_escalated")]
    assert escalations[:3] == [(70.0, "b.0.1", 1), (80.0, "b.0.1", 2), (90.0, "b.0.1", 3)]


def test_the_floor_lengthens_a_phase_whose_plan_ends_too_early():
    profile = {
        **PROFILE,
        "phases": [
            PROFILE["phases"][0],
            {
                **PROFILE["phases"][1],
                "duration": "30s",
                "not_before": {"after": "a", "at_least": "150s"},
            },
            PROFILE["phases"][2],
        ],
    }
    state, _ = session.start(timeline(profile, SLOTS))
    state, ev = run_to(state, 1000.0)
    assert [e.t for e in of_type(ev, "phase_started")] == [60.0, 150.0]


def test_loop_repeats_the_playlist():
    profile = {
        "name": "loop",
        "defaults": {"crossfade": "2s"},
        "phases": [{"id": "x", "duration": "100s", "music": {"slot": "x", "loop": True}}],
    }
    state, ev = session.start(timeline(profile, {"x": [30.0, 30.0]}))
    state, more = run_to(state, 1000)
    starts = [(e.t, e.data["title"]) for e in of_type(ev + more, "track_started")]
    assert starts == [(0.0, "x 0"), (28.0, "x 1"), (56.0, "x 0"), (84.0, "x 1")]


def test_cues_fire_at_start_offset_and_end_and_ramps_follow_a_curve():
    profile = {
        "name": "cues",
        "phases": [
            {
                "id": "a",
                "duration": "60s",
                "cues": [
                    {"at": "start", "osc": {"address": "/s", "args": [1]}},
                    {
                        "at": "10s",
                        "midi": {
                            "type": "control_change",
                            "control": 7,
                            "ramp": {"from": 100, "to": 20, "over": "40s"},
                        },
                    },
                    {"at": "end", "midi": {"type": "note_on", "note": 60}},
                ],
            },
            {"id": "b", "duration": "30s"},
        ],
    }
    state, ev = session.start(timeline(profile))
    state, more = run_to(state, 1000)
    sent = [(e.t, e.data["id"]) for e in of_type(ev + more, "cue_sent")]
    assert sent == [(0.0, "a.0"), (10.0, "a.1"), (60.0, "a.2")]
    values = [session.cc_values(state, t)[0][1]["midi"]["value"] for t in (10, 30, 50, 70)]
    assert values == [100, 60, 20, 20]


def test_opening_chimes_are_what_the_next_phase_sounds_as_it_opens():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    assert session.opening_chimes(state) == {"staff"}  # b's vitals, counted from a: at 60
    state, _ = run_to(state, 60.0)
    # c opens with no check-in of its own, but b.0.4 (due 150, waiting) is reminded at 180
    assert session.opening_chimes(state) == {"staff"}
    assert session.phase_end(state) == 180.0


def test_the_session_emitter_refuses_an_event_type_outside_the_vocabulary():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    run = Run(state)
    with pytest.raises(ValueError, match="unknown event type 'phase_begun'"):
        run.emit("phase_begun", 1.0, phase="a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown track_ended reason 'faded'"):
        run.emit("track_ended", 1.0, reason="faded")
    assert run.events == []
    run.emit("note", 1.0, text="calm")
    assert [(e.type, e.t, e.data) for e in run.events] == [("note", 1.0, {"text": "calm"})]
