"""Resume by replay: a session rebuilt from a journal cut at any moment is the session
that never crashed: same state, and exactly the events the journal lacks."""

from __future__ import annotations

import random
from typing import Any

import pytest

from setandsetting.core import session
from setandsetting.core.controls import Control, parse_control
from setandsetting.core.events import Event
from setandsetting.core.session import State
from setandsetting.core.timeline import Timeline
from setandsetting.engine.resume import control_fields, replay, unseen
from tests.support.timelines import timeline

PROFILE: dict[str, Any] = {
    "name": "Resume",
    "route": "other",
    "defaults": {"crossfade": "3s"},
    "phases": [
        {
            "id": "settle",
            "duration": "1m",
            "music": "calm",
            "level": "40%",
            "checkins": [
                {
                    "at": ["10s", "40s"],
                    "kind": "vitals",
                    "message": "BP",
                    "audience": "staff",
                    "ack": "required",
                    "escalate_after": "10s",
                },
            ],
        },
        {
            "id": "deep",
            "duration": "2m",
            "extendable": "2m",
            "music": {"slot": "calm", "order": "sequential", "loop": True},
            "level": {"from": "40%", "to": "60%", "shape": "linear"},
            "checkins": [
                {
                    "every": "30s",
                    "kind": "vitals",
                    "message": "BP",
                    "audience": "staff",
                    "ack": "required",
                    "escalate_after": "10s",
                },
                {"at": ["45s"], "kind": "breath", "message": "Breathe", "audience": "patient"},
            ],
        },
        {"id": "return", "duration": "1m", "music": "calm", "level": "30%", "fade_out": "10s"},
    ],
}
CONTROLS = [
    (15.5, "ack"),
    (50.25, "note eyes closed"),
    (75.0, "extend 1m"),
    (100.0, "pause"),
    (130.0, "resume"),
    (160.0, "level +10%"),
    (200.0, "next"),
    (215.0, "ack"),
]


TRACKS = {"calm": [40.0, 50.0, 35.0]}
# The same session with every phase beginning the slot afresh (as before continuity).
RESTARTING: dict[str, Any] = {
    **PROFILE,
    "phases": [
        PROFILE["phases"][0],
        *(
            {
                **p,
                "music": {
                    **(p["music"] if isinstance(p["music"], dict) else {"slot": p["music"]}),
                    "continue": False,
                },
            }
            for p in PROFILE["phases"][1:]
        ),
    ],
}


@pytest.fixture(scope="module")
def tl() -> Timeline:
    """The slot carries on through all three phases, one track playing across each change."""
    return timeline(PROFILE, TRACKS)


@pytest.fixture(scope="module")
def restarting() -> Timeline:
    return timeline(RESTARTING, TRACKS)


def live(
    tl: Timeline, until: float, controls_until: float | None = None, tick_s: float = 0.7
) -> tuple[State, list[dict[str, Any]]]:
    """The session as the engine journals it up to `until`: ticks, and each control (up to
    `controls_until`) first as a `control` event, so events due since the last tick follow."""
    last_control = until if controls_until is None else controls_until
    state, events = session.start(tl, 0.0)
    journal = [e.to_dict() for e in events]
    controls = [(t, parse_control(text)) for t, text in CONTROLS if t <= last_control]
    ticks = [round(i * tick_s, 3) for i in range(1, int(until / tick_s) + 1)]
    moments = sorted([(t, 1, None) for t in ticks] + [(t, 0, c) for t, c in controls])
    for t, _, control in moments:
        if control is None:
            state, events = session.advance(state, t)
        else:
            journal.append(Event("control", t, control_fields(control)).to_dict())
            state, events = session.apply(state, control, t)
        journal += [e.to_dict() for e in events]
    state, events = session.advance(state, until)
    journal += [e.to_dict() for e in events]
    return state, journal


@pytest.mark.parametrize("kind", ["continuing", "restarting"])
def test_replay_at_random_crash_moments_is_the_session_that_never_crashed(
    kind: str, tl: Timeline, restarting: Timeline
) -> None:
    tl = tl if kind == "continuing" else restarting
    rng = random.Random(7)
    for _ in range(40):
        crash = round(rng.uniform(1.0, 250.0), 3)
        now = round(crash + rng.uniform(0.2, 30.0), 3)
        _, before = live(tl, crash)
        reference, whole = live(tl, now, controls_until=crash)
        state, gap = replay(tl, before, now)
        assert state == reference, (crash, now)
        written = before + [e.to_dict() for e in gap]
        assert _keys(written) == _keys(whole), (crash, now)
        assert len(written) == len(whole)
        due = [e["id"] for e in written if e["type"] == "checkin_due"]
        assert len(due) == len(set(due))


def _keys(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Events minus their order within one instant (ticks and gaps group them differently)."""
    return sorted(
        (e["t"], e["type"], repr(sorted(e.items()))) for e in events if e["type"] != "control"
    )


def test_before_the_crash_is_honoured_after_it(tl: Timeline) -> None:
    """An extension, a hold and a pending check-in all survive a crash at 1:50; what
    fell due in the gap is written once, and the pending check-in can be acknowledged."""
    _, before = live(tl, 110.0)
    assert [e["count"] for e in before if e["type"] == "checkin_escalated"][-2:] == [1, 2]
    state, gap = replay(tl, before, 118.0)
    assert session.phase_end(state) == 240.0  # deep: 1:00 + 2:00 + the 1-minute extension
    assert state.music == "held"
    assert gap == []
    assert [(p["id"], p["escalations"]) for p in session.pending_checkins(state)] == [
        ("settle.0.1", 3),  # unanswered in settle, it waits on through deep
        ("deep.0.0", 2),
    ]
    acked, events = session.apply(state, Control("ack"), 119.0)
    assert [(e.type, e.data["id"], e.data["latency_s"]) for e in events] == [
        ("checkin_acknowledged", "settle.0.1", 79.0),
        ("checkin_acknowledged", "deep.0.0", 29.0),
    ]
    assert session.pending_checkins(acked) == []
    # Restarted later: the next vitals fell due in the gap, and the unanswered ones still wait.
    state, gap = replay(tl, before, 125.0)
    assert [(e.type, e.t, e.data["id"]) for e in gap] == [
        ("checkin_due", 120.0, "deep.0.1"),
        ("checkin_escalated", 120.0, "deep.0.0"),  # its third reminder, due in the gap too
    ]
    assert [p["id"] for p in session.pending_checkins(state)] == [
        "settle.0.1",
        "deep.0.0",
        "deep.0.1",
    ]


def test_events_already_journaled_are_not_written_again() -> None:
    """Matched by type and identity within 2 ms: controls are journaled rounded to 1 ms,
    so a replayed track start can differ from the dead process's by that much."""
    journaled = [
        {"type": "track_started", "t": 26.724, "path": "/m/a.flac", "voice": 3, "offset": 0.0},
        {"type": "checkin_due", "t": 30.0, "id": "deep.0.1"},
    ]
    produced = [
        Event("track_started", 26.7226, {"path": "/m/a.flac", "voice": 3, "offset": 0.0}),
        Event("track_started", 26.7226, {"path": "/m/b.flac", "voice": 4, "offset": 0.0}),
        Event("checkin_due", 30.0, {"id": "deep.0.1"}),
        Event("checkin_due", 30.0, {"id": "deep.1.0"}),
        Event("checkin_due", 40.0, {"id": "deep.0.1"}),
    ]
    assert unseen(produced, journaled) == [produced[1], produced[3], produced[4]]


def test_rejoin_in_the_last_tracks_tail_brings_it_back(restarting: Timeline) -> None:
    state, _ = session.start(restarting, 0.0)
    state, _ = session.advance(state, 177.0)  # deep: calm 2 (35 s, from 2:24) plays out
    assert state.voice is None and [v.track.title for v in state.leaving] == ["calm 2"]
    _, events = session.apply(state, Control("rejoin"), 177.0)
    started = [(e.data["title"], e.data["offset"]) for e in events if e.type == "track_started"]
    assert started == [("calm 2", 33.0)]


def test_a_crash_in_the_middle_of_a_continued_track_rejoins_it_where_the_clock_says(
    tl: Timeline,
) -> None:
    """calm 1 starts in settle at 37 s and plays on into deep (from 1:00): killed at 75 s,
    restarted at 81 s, it comes back 44 s into the track, in deep, at deep's level."""
    _, before = live(tl, 75.0, controls_until=0.0)
    started = [(e["t"], e["title"], e["phase"]) for e in before if e["type"] == "track_started"]
    assert started == [(0.0, "calm 0", "settle"), (37.0, "calm 1", "settle")]
    assert [e["t"] for e in before if e["type"] == "phase_started"] == [0.0, 60.0]
    state, gap = replay(tl, before, 81.0)
    assert gap == []
    assert state.voice is not None and (state.voice.track.title, state.voice.phase) == (
        "calm 1",
        1,
    )
    rejoined, events = session.apply(state, Control("rejoin"), 81.0)
    assert [(e.type, e.data["title"], e.data["reason"]) for e in events[:1]] == [
        ("track_ended", "calm 1", "interrupted")
    ]
    back = events[1]
    assert (back.type, back.data["title"], back.data["offset"], back.data["phase"]) == (
        "track_started",
        "calm 1",
        44.0,
        "deep",
    )
    assert rejoined.voice is not None and rejoined.voice.pos == 1
    # Faded back in (over 4 s) to deep's curve: 40 % -> 60 % over 2 min, 44 % at 85 s.
    assert session.voice_level(rejoined, rejoined.voice, 85.0) == pytest.approx(
        0.4 + 0.2 * 25 / 120
    )


@pytest.mark.parametrize(
    "text", ["level -6dB", "level +3dB", "level -5%", "level 40%", "extend 5m", "note calm", "ack"]
)
def test_a_journaled_control_replays_as_the_same_control(text: str) -> None:
    from setandsetting.engine.resume import control_from_event

    control = parse_control(text)
    assert control_from_event(control_fields(control)) == control


def test_the_clinical_controls_replay_from_the_journal_to_the_same_record() -> None:
    """Readings, a dose, the facts and ready go through the journal as JSON and come back
    as the same state: the dose clock, the alerts, a recheck still to come."""
    import json

    tl = timeline({**PROFILE, "alerts": {"recheck_after": "20s"}}, {"calm": [40.0, 50.0, 35.0]})
    controls = [
        (0.0, Control("facts", data={"intention": "rest", "first_treatment": True})),
        (12.0, parse_control("ack settle.0.0 bp=150/95 hr=88 note=anxious")),
        (20.0, parse_control("dose ketamine 35mg route=im lot=K-7")),
        (41.0, parse_control("ack spo2=90")),
        (50.0, Control("ready")),
    ]
    state, events = session.start(tl, 0.0)
    journal = [e.to_dict() for e in events]
    for t, control in controls:
        journal.append(Event("control", t, control_fields(control)).to_dict())
        state, events = session.apply(state, control, t)
        journal += [e.to_dict() for e in events]
    journal = json.loads(json.dumps(journal))  # as the journal stores and returns them
    replayed, gap = replay(tl, journal, 50.0)
    assert replayed == state and gap == []
    assert replayed.clinical.first_dose_t == 20.0
    assert [r.due_t for r in replayed.clinical.rechecks] == [61.0]
    assert [a[1] for a in replayed.clinical.alerts] == ["bp_pre_dose_above", "spo2_below"]
