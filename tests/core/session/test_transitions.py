"""The session moving through its moments without controls, with exact expectations."""

import pytest

from setandsetting.core import session
from setandsetting.core.session.transitions import Run
from tests.core.session.one_slot import ONE_SLOT, ONE_SLOT_TRACKS
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


def test_a_slot_played_on_keeps_its_track_across_phases_and_only_the_level_glides():
    state, events = session.start(timeline(ONE_SLOT, ONE_SLOT_TRACKS))
    levels = []
    for t in (59.9, 60.0, 61.5, 63.0, 64.0, 119.9, 120.0, 121.5, 124.0):
        state, more = run_to(state, t)
        events += more
        levels.append(round(session.voice_level(state, state.voice, t), 4))
    state, more = run_to(state, 1000.0)
    assert summary(events + more) == [
        (0.0, "session_started", ""),
        (0.0, "phase_started", "a"),
        (0.0, "track_started", "x 0"),
        (60.0, "phase_started", "b"),
        (95.0, "track_started", "x 1"),
        (100.0, "track_ended", "x 0/finished"),
        (120.0, "phase_started", "c"),
        (180.0, "track_ended", "x 1/phase_end"),
        (180.0, "session_ended", ""),
    ]
    # No dip: the level glides (s-curve, over 5 s) from one phase's curve to the next.
    assert levels == [0.4, 0.4, 0.4427, 0.5264, 0.5732, 0.5002, 0.5, 0.4568, 0.3208]


def test_continue_false_begins_the_slot_again_as_before():
    profile = {
        **ONE_SLOT,
        "phases": [
            ONE_SLOT["phases"][0],
            {**ONE_SLOT["phases"][1], "music": {"slot": "x", "continue": False}},
            ONE_SLOT["phases"][2],
        ],
    }
    state, events = session.start(timeline(profile, ONE_SLOT_TRACKS))
    state, more = run_to(state, 130.0)
    tracks = [x for x in summary(events + more) if x[1].startswith("track")]
    assert tracks == [
        (0.0, "track_started", "x 0"),
        (60.0, "track_started", "x 0"),
        (65.0, "track_ended", "x 0/phase_end"),
    ]


def test_continue_true_picks_a_slot_up_where_an_earlier_phase_left_it():
    profile = {
        **ONE_SLOT,
        "phases": [
            ONE_SLOT["phases"][0],
            {**ONE_SLOT["phases"][1], "music": "y"},
            {**ONE_SLOT["phases"][2], "music": {"slot": "x", "continue": True}},
        ],
    }
    state, events = session.start(timeline(profile, {**ONE_SLOT_TRACKS, "y": [100.0]}))
    state, more = run_to(state, 130.0)
    started = [
        (e.t, e.data["title"], e.data["offset"]) for e in of_type(events + more, "track_started")
    ]
    assert started == [(0.0, "x 0", 0.0), (60.0, "y 0", 0.0), (120.0, "x 0", 60.0)]
    assert state.voice.fade_in == 5.0  # it fades back in with the crossfade


def test_a_phase_fading_out_hands_its_place_on_rather_than_its_sound():
    """fade_out ends the music with the phase; the next phase that continues the slot
    brings the track back where it faded out, fading in."""
    profile = {
        **ONE_SLOT,
        "phases": [
            {**ONE_SLOT["phases"][0], "fade_out": "10s"},
            ONE_SLOT["phases"][1],
            ONE_SLOT["phases"][2],
        ],
    }
    state, events = session.start(timeline(profile, ONE_SLOT_TRACKS))
    state, more = run_to(state, 61.0)
    assert [
        (e.t, e.type, e.data["offset"] if "offset" in e.data else e.data["reason"])
        for e in events + more
        if e.type.startswith("track")
    ] == [
        (0.0, "track_started", 0.0),
        (60.0, "track_ended", "phase_end"),
        (60.0, "track_started", 60.0),
    ]
