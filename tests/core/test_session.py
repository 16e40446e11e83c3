"""The session state machine, with exact expectations (time is an argument)."""

import pytest

from setandsetting.core import session
from setandsetting.core.controls import Control, parse_control
from setandsetting.core.session import voice_level, voices
from tests.support.timelines import of_type, timeline

PROFILE = {
    "name": "test",
    "defaults": {"crossfade": "5s"},
    "limits": {"max_level": "80%"},
    "phases": [
        {"id": "a", "duration": "60s", "music": "a", "level": "40%"},
        {
            "id": "b",
            "duration": "120s",
            "extendable": "60s",
            "music": "b",
            "level": {"from": "40%", "to": "60%"},
            "checkins": [
                {
                    "every": "30s",
                    "from": "a",
                    "kind": "vitals",
                    "audience": "staff",
                    "ack": "required",
                    "escalate_after": "10s",
                }
            ],
        },
        {"id": "c", "duration": "60s", "music": "c", "level": "30%", "fade_out": "10s"},
    ],
}
SLOTS = {"a": [40.0, 40.0], "b": [100.0], "c": [100.0]}


def run_to(state, t):
    return session.advance(state, t)


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
        (90.0, "checkin_missed", "b.0.1"),
        (90.0, "checkin_due", "b.0.2"),
        (120.0, "checkin_missed", "b.0.2"),
        (120.0, "checkin_due", "b.0.3"),
        (150.0, "checkin_missed", "b.0.3"),
        (150.0, "checkin_due", "b.0.4"),
        (160.0, "track_ended", "b 0/finished"),
        (180.0, "checkin_missed", "b.0.4"),
        (180.0, "phase_started", "c"),
        (180.0, "track_started", "c 0"),
        (240.0, "track_ended", "c 0/phase_end"),
        (240.0, "session_ended", ""),
    ]
    escalations = [(e.t, e.data["id"], e.data["count"]) for e in of_type(more, "checkin_escalated")]
    assert escalations[:3] == [(70.0, "b.0.1", 1), (80.0, "b.0.1", 2), (100.0, "b.0.2", 1)]


def test_phase_started_carries_the_planned_time():
    state, events = session.start(timeline(PROFILE, SLOTS))
    state, more = session.apply(state, Control("next"), 20.0)
    started = of_type(events + more, "phase_started")
    assert [(e.t, e.data["phase"], e.data["planned_t"]) for e in started] == [
        (0.0, "a", 0.0),
        (20.0, "b", 60.0),
    ]
    assert of_type(more, "phase_advanced")[0].data == {"phase": "a", "planned_end_t": 60.0}


def test_a_new_track_starts_silent_and_fades_in():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    (v0,) = voices(state)
    assert voice_level(state, v0, 0.0) == 0.0
    assert voice_level(state, v0, 2.5) == pytest.approx(0.2)
    assert voice_level(state, v0, 5.0) == pytest.approx(0.4)


def test_crossfade_levels_are_complementary():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 37.5)
    old, new = voices(state)
    assert old.leaving_at == 40.0
    assert voice_level(state, old, 37.5) == pytest.approx(0.2)
    assert voice_level(state, new, 37.5) == pytest.approx(0.2)


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


def test_extension_is_bounded_by_extendable():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 70.0)
    state, ev = session.apply(state, parse_control("extend 40s"), 70.0)
    assert [e.type for e in ev] == ["phase_extended"]
    state, ev2 = session.apply(state, parse_control("extend 30s"), 71.0)
    refused = of_type(ev2, "control_refused")[0].data
    assert refused["action"] == "extend"
    assert refused["reason"] == "b can be extended by at most 20s more (limit 1m)"
    assert session.phase_end(state) == 220.0


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


def test_moving_on_drops_check_ins_not_yet_come_and_misses_the_pending_one():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 95.0)
    state, ev = session.apply(state, Control("next"), 95.0)
    assert [(e.type, e.data.get("id")) for e in of_type(ev, "checkin_missed")] == [
        ("checkin_missed", "b.0.2")
    ]
    _, ev = run_to(state, 10_000)
    assert of_type(ev, "checkin_due") == []


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


def test_patient_chime_ducks_the_music_and_it_comes_back():
    profile = {
        "name": "duck",
        "defaults": {"crossfade": "5s", "chime": {"duck": "-9dB"}},
        "phases": [
            {
                "id": "a",
                "duration": "5m",
                "music": "a",
                "level": "50%",
                "checkins": [{"at": ["60s"], "kind": "breath", "audience": "patient"}],
            }
        ],
    }
    state, _ = session.start(timeline(profile, {"a": [400.0]}, chime_s=4.0))
    state, ev = run_to(state, 61.0)
    assert of_type(ev, "checkin_due")[0].data["audience"] == "patient"
    ducked = 0.5 * 10 ** (-9 / 60)
    assert session.master_level(state, 59.9) == pytest.approx(0.5)
    assert session.master_level(state, 62.0) == pytest.approx(ducked)
    assert session.master_level(state, 64.0 + 1.5) == pytest.approx(0.5)


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


def test_an_open_last_phase_runs_until_stopped():
    profile = {"name": "open", "phases": [{"id": "x", "duration": "open", "music": "x"}]}
    state, _ = session.start(timeline(profile, {"x": [60.0]}))
    state, _ = run_to(state, 100_000)
    assert state.ended is None
    assert session.next_moment(state) is None


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


def test_track_gain_scales_the_curve_and_the_cap_still_holds():
    """Playlist gain (and loudness normalisation, which becomes gain) multiplies the curve
    on the perceptual scale: +6 dB of amplitude is 10^(6/60) on the level."""
    from setandsetting.core.profile import Profile
    from setandsetting.core.timeline import compile_timeline
    from tests.support.timelines import slot

    prof = {
        "name": "gain",
        "limits": {"max_level": "60%"},
        "defaults": {"crossfade": "2s"},
        "phases": [
            {"id": name, "duration": "60s", "music": name, "level": "40%"}
            for name in ("up", "down", "over")
        ],
    }
    gains = {"up": 6.0, "down": -6.0, "over": 12.0}
    tl = compile_timeline(
        Profile.model_validate(prof),
        {name: slot(name, [100.0], gain_db=gain) for name, gain in gains.items()},
        patient_id="P-test",
    )
    state, _ = session.start(tl)
    heard = {}
    for name, t in (("up", 30.0), ("down", 90.0), ("over", 150.0)):
        state, _ = session.advance(state, t)
        assert state.plan.id == name and state.voice is not None
        heard[name] = round(voice_level(state, state.voice, t), 5)
    assert heard == {
        "up": round(0.4 * 10 ** (6 / 60), 5),  # 0.50357
        "down": round(0.4 * 10 ** (-6 / 60), 5),  # 0.31773
        "over": 0.6,  # 0.634 wanted, the cap wins
    }


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


def test_opening_chimes_are_what_the_next_phase_sounds_as_it_opens():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    assert session.opening_chimes(state) == {"staff"}  # b's vitals, counted from a: at 60
    state, _ = run_to(state, 60.0)
    assert session.opening_chimes(state) == frozenset()  # c opens with none at 180
    assert session.phase_end(state) == 180.0
