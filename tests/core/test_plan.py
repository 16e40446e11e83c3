"""The plan: the session run without controls; an open phase followed to `open_until`."""

from __future__ import annotations

from typing import Any

import pytest

from setandsetting.core import session
from setandsetting.core.controls import Control
from setandsetting.core.plan import OPEN_HORIZON_S, build_plan, open_until, simulate
from tests.support.timelines import timeline

SLOTS = {"d": [1000.0], "a": [2000.0]}


def two_phases(**after: Any) -> dict[str, Any]:
    """Dosing (30 min), then an open phase with the given keys."""
    return {
        "name": "open",
        "defaults": {"crossfade": "5s"},
        "phases": [
            {"id": "dosing", "duration": "30m", "music": "d"},
            {"id": "after", "duration": "open", "music": "a", **after},
        ],
    }


def stopped_at(profile: dict[str, Any]) -> float:
    """When the open phase is stopped, once the session has reached it."""
    state, _ = session.start(timeline(profile, SLOTS))
    state, _ = session.advance(state, 1800.0)
    assert state.plan.id == "after"
    limit = open_until(state)
    assert limit is not None
    return limit


def test_a_phase_with_an_end_has_no_open_horizon():
    state, _ = session.start(timeline(two_phases(), SLOTS))
    assert open_until(state) is None


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ({}, 1800.0 + OPEN_HORIZON_S),  # the minimum: an hour after the open phase began
        ({"not_before": {"after": "dosing", "at_least": "2h"}}, 7200.0),  # its floor
        ({"not_before": {"after": "dosing", "at_least": "40m"}}, 5400.0),  # a floor within
        (
            {"checkins": [{"every": "15m", "from": "dosing", "until": "1h50m", "kind": "spo2"}]},
            6600.0,  # the rule's until, counted from the dosing's start
        ),
        ({"checkins": [{"every": "15m", "until": "80m", "kind": "spo2"}]}, 1800.0 + 4800.0),
        ({"checkins": [{"every": "15m", "kind": "spo2"}]}, 5400.0),  # no until: the minimum
        ({"checkins": [{"at": ["10m", "100m"], "from": "dosing", "kind": "bp"}]}, 6000.0),
        ({"cues": [{"at": "70m", "osc": {"address": "/x"}}]}, 1800.0 + 4200.0),
    ],
)
def test_the_open_horizon_reaches_everything_the_phase_has_a_time_for(after, expected):
    assert stopped_at(two_phases(**after)) == expected


def test_the_open_horizon_counts_from_when_the_phase_really_began_and_never_before_now():
    profile = two_phases(checkins=[{"every": "15m", "until": "80m", "kind": "spo2"}])
    state, _ = session.start(timeline(profile, SLOTS))
    state, _ = session.apply(state, Control("next"), 600.0)  # moved on after 10 min
    assert open_until(state) == 600.0 + 4800.0  # the until, from the phase's real start
    assert open_until(state, at_least=7200.0) == 600.0 + 7200.0
    state, _ = session.advance(state, 9000.0)
    assert open_until(state) == 9000.0


def test_plan_of_an_open_phase_lists_every_checkin_up_to_its_until_and_stops_at_its_floor():
    profile = two_phases(
        not_before={"after": "dosing", "at_least": "2h"},
        checkins=[
            {
                "every": "15m",
                "from": "dosing",
                "until": "1h50m",
                "kind": "spo2",
                "audience": "staff",
            }
        ],
    )
    plan = build_plan(timeline(profile, SLOTS))
    assert [(c["at_s"], c["id"]) for c in plan["checkins"]] == [
        (1800.0, "after.0.1"),
        (2700.0, "after.0.2"),
        (3600.0, "after.0.3"),
        (4500.0, "after.0.4"),
        (5400.0, "after.0.5"),  # the last one before the hour's horizon (5400) ...
        (6300.0, "after.0.6"),  # ... and the one after it, which the room will chime
    ]
    ended = simulate(timeline(profile, SLOTS))[-1]
    assert (ended.type, ended.t, ended.data) == ("session_ended", 7200.0, {"reason": "stopped"})


def test_build_plan_is_the_contract_object_of_the_session_run_without_controls():
    profile = {
        "name": "small",
        "defaults": {"crossfade": "5s"},
        "limits": {"max_level": "70%"},
        "phases": [
            {
                "id": "a",
                "name": "Arrival",
                "duration": "60s",
                "music": "a",
                "checkins": [{"at": ["30s"], "kind": "bp", "audience": "staff", "ack": "required"}],
                "cues": [{"at": "start", "osc": {"address": "/on", "target": "lights"}}],
            },
            {"id": "b", "duration": "open", "extendable": "0s", "music": "b"},
        ],
    }
    tl = timeline(profile, {"a": [40.0, 40.0], "b": [4000.0]})
    assert build_plan(tl) == {
        "profile": "small",
        "patient": "P-test",
        "max_level": 0.7,
        "phases": [
            {
                "id": "a",
                "name": "Arrival",
                "start_s": 0.0,
                "end_s": 60.0,
                "duration_s": 60.0,
                "extendable_s": 0.0,
                "open": False,
            },
            {
                "id": "b",
                "name": "b",
                "start_s": 60.0,
                "end_s": None,
                "duration_s": None,
                "extendable_s": 0.0,
                "open": True,
            },
        ],
        "tracks": [
            {
                "phase": "a",
                "phases": ["a"],
                "path": "/music/a-0.flac",
                "title": "a 0",
                "start_s": 0.0,
                "offset_s": 0.0,
                "duration_s": 40.0,
                "end_reason": "finished",
            },
            {
                "phase": "a",
                "phases": ["a"],
                "path": "/music/a-1.flac",
                "title": "a 1",
                "start_s": 35.0,
                "offset_s": 0.0,
                "duration_s": 30.0,
                "end_reason": "phase_end",
            },
            {
                "phase": "b",
                "phases": ["b"],
                "path": "/music/b-0.flac",
                "title": "b 0",
                "start_s": 60.0,
                "offset_s": 0.0,
                "duration_s": 3600.0,
                "end_reason": "stopped",
            },
        ],
        "checkins": [
            {
                "at_s": 30.0,
                "phase": "a",
                "kind": "bp",
                "audience": "staff",
                "id": "a.0.0",
                "ack": "required",
                "message": "",
            }
        ],
        "cues": [
            {
                "at_s": 0.0,
                "phase": "a",
                "kind": "osc",
                "id": "a.0",
                "target": "lights",
                "payload": {"osc": {"address": "/on", "args": [], "target": "lights"}},
            }
        ],
        "warnings": [
            "phase a: playlist lasts 1m15s, longer than the phase (1m); a 1 is cut at 25s "
            "with a fade",
            "phase b: open-ended; it runs until the clinician moves on",
        ],
    }


def test_the_plan_shows_a_continued_track_spanning_the_phases_it_plays_in():
    from setandsetting.cli.plan import render
    from tests.core.session.one_slot import ONE_SLOT, ONE_SLOT_TRACKS

    plan = build_plan(timeline(ONE_SLOT, ONE_SLOT_TRACKS))
    assert [
        (t["title"], t["phases"], t["start_s"], t["duration_s"], t["end_reason"])
        for t in plan["tracks"]
    ] == [
        ("x 0", ["a", "b"], 0.0, 100.0, "finished"),
        ("x 1", ["b", "c"], 95.0, 85.0, "phase_end"),
    ]
    text = render(plan)
    assert "  0:00:00  track    a→b           x 0 (1m40s)" in text
    assert "  0:01:35  track    b→c           x 1 (1m25s)" in text
