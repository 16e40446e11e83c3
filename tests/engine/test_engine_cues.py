"""Environment cues through the live engine: real JACK MIDI and a real UDP OSC server.

Each test runs a real Engine (recording music and chimes, the room's real CueRouter) on an
in-memory timeline of a few seconds, and checks what really arrived: bytes on a virtual
JACK input port, OSC messages on a python-osc server, each against its planned time.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer

from setandsetting.core.room import Room
from tests.support.jack import Jack, jack
from tests.support.live_engine import (
    Live,
    MidiReceiver,
    comparable,
    live_engine,
    rehearsed_like,
    same_times,
)
from tests.support.timelines import timeline

__all__ = ["jack"]

ON_TIME_S = 0.010  # the issue: MIDI cues arrive within 10 ms of plan
HICCUP_S = 0.050  # one arrival a session may be this late: a timeslice lost on 2 shared cores
ROUND_TRIP_S = 0.050  # a control must never wait on a device


def midi_room(**extra: Any) -> Room:
    return Room.model_validate({"midi": {"outputs": {"lights": "QLC+"}}, **extra})


@pytest.fixture
def receiver(jack: Jack) -> Iterator[MidiReceiver]:
    port = MidiReceiver("QLC+ test in")
    try:
        yield port
    finally:
        port.close()


def arrivals(port: MidiReceiver, live: Live, count: int) -> list[tuple[float, list[int]]]:
    """What arrived (at least `count` messages, waited for), as (session time, bytes)."""
    port.wait_for(count)
    time.sleep(0.05)  # and whatever more would arrive
    return [(t - live.mono0, data) for t, data in list(port.received)]


def assert_on_time(
    received: list[tuple[float, list[int]]], planned: list[float], live: Live
) -> list[float]:
    """Every arrival within ON_TIME_S after its plan, but one moment's within HICCUP_S.

    The one exception is for this shared 2-core machine, where a neighbour's benchmark can
    hold a core for a timeslice (~20-40 ms seen, in the engine or in jackd alike); a late
    engine or a slow path is late on every cue and still fails. On failure, the message
    says whether the engine emitted late or the message travelled late.
    """
    late = [round(t - p, 4) for (t, _), p in zip(received, planned, strict=True)]
    engine = [
        (e["type"], e.get("id"), round(seen - live.at(e["t"]), 4))
        for e, seen in zip(live.events, live.seen, strict=True)
        if e["type"] in ("cue_sent", "quiet", "session_ended")
    ]
    outliers = {
        round(p, 3): x for x, p in zip(late, planned, strict=True) if not 0 <= x < ON_TIME_S
    }
    ok = not outliers or (len(outliers) == 1 and all(0 <= x < HICCUP_S for x in late))
    assert ok, f"late {late}; engine emitted after {engine}"
    return late


def started_at(live: Live) -> float:
    return live.of_type("session_started")[0]["t"]


# ----------------------------------------------------------------------- planned cues + ramp

RAMP = {"from": 10, "to": 90, "over": 1.0}
PLANNED = {
    "name": "cues",
    "phases": [
        {
            "id": "settle",
            "duration": 1.5,
            "cues": [
                {"at": "start", "midi": {"type": "note_on", "channel": 1, "note": 60,
                                         "velocity": 80}},
                {"at": 0.5, "midi": {"type": "program_change", "channel": 1, "program": 3}},
                {"at": "end", "midi": {"type": "note_off", "channel": 1, "note": 60,
                                       "velocity": 0}},
            ],
        },
        {
            "id": "dim",
            "duration": 1.5,
            "cues": [
                {"at": "start", "midi": {"type": "control_change", "channel": 2, "control": 7,
                                         "ramp": RAMP}},
                {"at": "end", "midi": {"type": "sysex", "data": [0x7E, 0x7F, 0x06, 0x01]}},
            ],
        },
    ],
}  # fmt: skip


def is_ramp(data: list[int]) -> bool:
    return data[:2] == [0xB1, 7]


@pytest.mark.midi
def test_planned_cues_arrive_exactly_and_on_time_and_the_ramp_glides(
    receiver: MidiReceiver,
) -> None:
    with live_engine(timeline(PLANNED), midi_room()) as live:
        live.engine.join(5.0)
        assert not live.engine.running, live.events
    t0 = started_at(live)
    got = arrivals(receiver, live, 7)
    plain = [(t, d) for t, d in got if not is_ramp(d)]
    assert [d for _, d in plain[:3]] == [
        [0x90, 60, 80],  # settle start
        [0xC0, 3],  # settle + 0.5 s
        [0x80, 60, 0],  # settle end
    ]
    # At the session's end, in one JACK period (JACK may deliver a sysex after a short one):
    assert sorted(d for _, d in plain[3:]) == [
        [0xB0, 123, 0],  # all notes off on the channel that carried notes
        [0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7],  # dim end
    ]
    planned = [t0 + x for x in (0.0, 0.5, 1.5, 3.0, 3.0)]
    assert_on_time(plain, planned, live)

    ramp = [(t, d[2]) for t, d in got if is_ramp(d)]
    values = [v for _, v in ramp]
    assert values[0] == 10 and values[-1] == 90, values
    assert all(a < b for a, b in itertools.pairwise(values)), values  # monotone, no repeats
    assert 0 <= ramp[0][0] - (t0 + 1.5) < ON_TIME_S
    assert ramp[-1][0] - (t0 + 2.5) < 0.05  # the target arrives when the ramp ends
    ramping = [t for t, _ in ramp]
    rate = (len(ramping) - 1) / (ramping[-1] - ramping[0])
    assert rate >= 20, rate
    gaps = [b - a for a, b in itertools.pairwise(ramping)]
    # Steady, no stalls while ramping: each step reads the clock, so a tick that runs late
    # (one 40 ms tick, seen with the whole suite on both cores) only delays one value; a
    # stall the eye would see in the lights is longer.
    assert max(gaps) < 0.1, gaps
    assert [e["id"] for e in live.of_type("cue_sent")] == [
        "settle.0", "settle.1", "settle.2", "dim.0", "dim.1"
    ]  # fmt: skip
    assert not live.of_type("error")


# ----------------------------------------------------------------------- extend / next


def note_on(note: int, velocity: int, at: str | float = "end") -> dict[str, Any]:
    return {"at": at, "midi": {"type": "note_on", "channel": 1, "note": note, "velocity": velocity}}


RETIMED = {
    "name": "retimed",
    "phases": [
        {"id": "a", "duration": 1.0, "extendable": 2.0, "cues": [note_on(61, 10)]},
        {"id": "b", "duration": 5.0, "cues": [note_on(62, 20)]},
        {"id": "c", "duration": 0.5},
    ],
}


@pytest.mark.midi
def test_extend_and_next_move_the_end_cue_to_the_new_end(receiver: MidiReceiver) -> None:
    with live_engine(timeline(RETIMED), midi_room()) as live:
        t0 = started_at(live)
        live.sleep_until(t0 + 0.3)
        events, _ = live.submit("extend 1s")
        assert [e["type"] for e in events] == ["phase_extended"]
        live.sleep_until(t0 + 2.6)
        events, _ = live.submit("next")
        assert [e["type"] for e in events][:2] == ["phase_advanced", "cue_sent"]
        moved_on = events[0]["t"]
        live.engine.join(3.0)
        assert not live.engine.running
    got = arrivals(receiver, live, 3)
    assert [d for _, d in got] == [[0x90, 61, 10], [0x90, 62, 20], [0xB0, 123, 0]]
    planned = [t0 + 2.0, moved_on, moved_on + 0.5]  # a: 1 s + 1 s; b: when `next` came
    assert_on_time(got, planned, live)


# ----------------------------------------------------------------------- quiet

QUIET = {
    "name": "quiet",
    "phases": [
        {
            "id": "peak",
            "duration": 1.5,
            "cues": [
                {"at": "start", "midi": {"type": "note_on", "channel": 3, "note": 64,
                                         "velocity": 50}},
                {"at": "start", "midi": {"type": "note_on", "channel": 9, "note": 36,
                                         "velocity": 50}},
            ],
        }
    ],
}  # fmt: skip
ON_QUIET = (
    {"midi": {"type": "program_change", "channel": 1, "program": 0}},
    {"midi": {"type": "control_change", "channel": 5, "control": 20, "value": 127}},
)


@pytest.mark.midi
def test_quiet_sends_notes_off_on_the_channels_used_and_the_rooms_quiet_cues(
    receiver: MidiReceiver,
) -> None:
    with live_engine(timeline(QUIET, on_quiet=ON_QUIET), midi_room()) as live:
        t0 = started_at(live)
        live.sleep_until(t0 + 0.4)
        events, _ = live.submit("quiet")
        quiet_t = events[0]["t"]
        assert [(e["type"], e.get("id")) for e in events] == [
            ("quiet", None), ("cue_sent", "on_quiet.0"), ("cue_sent", "on_quiet.1")
        ]  # fmt: skip
        live.engine.join(3.0)
        assert not live.engine.running
    got = arrivals(receiver, live, 8)
    notes_off = [[0xB2, 123, 0], [0xB8, 123, 0]]  # channels 3 and 9 carried notes
    assert [d for _, d in got] == [
        [0x92, 64, 50], [0x98, 36, 50],  # start
        *notes_off, [0xC0, 0], [0xB4, 20, 127],  # quiet: hanging notes off, then the room's cues
        *notes_off,  # session end
    ]  # fmt: skip
    planned = [t0, t0, *[quiet_t] * 4, t0 + 1.5, t0 + 1.5]
    assert_on_time(got, planned, live)
    assert not live.of_type("error")


# ----------------------------------------------------------------------- a port lost and back


def program(n: int, at: float) -> dict[str, Any]:
    return {"at": at, "midi": {"type": "program_change", "channel": 1, "program": n}}


OUTAGE = {
    "name": "outage",
    "phases": [
        {
            "id": "peak",
            "duration": 4.0,
            "music": "a",
            "level": {"from": 0.2, "to": 0.8},  # the music moves all the time
            "fade_out": 1.0,  # silent by the end, so the engine ends with the session
            "cues": [note_on(60, 80, "start")] + [program(n, n * 0.5) for n in range(1, 8)],
        }
    ],
}
LOST = (0.75, 2.05)  # the controller's port is gone between these session times


@pytest.mark.midi
def test_a_lost_port_is_journaled_cues_resume_and_the_session_is_untouched(jack: Jack) -> None:
    tl = timeline(OUTAGE, {"a": [60.0]})
    first = MidiReceiver("QLC+ test in")
    again: MidiReceiver | None = None
    round_trips = []
    try:
        with live_engine(tl, midi_room()) as live:
            t0 = started_at(live)
            live.sleep_until(t0 + LOST[0])
            first.close()  # unplugged
            for at in (1.2, 1.7, 1.9):  # the clinician keeps working during the outage
                live.sleep_until(t0 + at)
                events, took = live.submit(f"note outage at {at}")
                assert [e["type"] for e in events] == ["note"]
                round_trips.append(took)
            live.sleep_until(t0 + LOST[1])
            again = MidiReceiver("QLC+ test in")  # plugged in again
            live.wait_event("session_ended", timeout=4.0)
    finally:
        first.close()
        if again is not None:
            again.close()
    assert again is not None
    before = arrivals(first, live, 2)
    after = arrivals(again, live, 4)
    assert [d for _, d in before] == [[0x90, 60, 80], [0xC0, 1]]
    assert [d for _, d in after] == [[0xC0, 5], [0xC0, 6], [0xC0, 7], [0xB0, 123, 0]]
    assert_on_time(before + after, [t0 + x for x in (0, 0.5, 2.5, 3.0, 3.5, 4.0)], live)

    errors = [(e["t"], e["source"], e["message"]) for e in live.of_type("error")]
    assert errors[0][1:] == ("cues", "lights")  # the watcher saw the port go
    assert t0 + LOST[0] < errors[0][0] < t0 + LOST[0] + 0.2
    missed = errors[1:]
    assert [round(t - t0, 3) for t, _, _ in missed] == [1.0, 1.5, 2.0]
    assert all(s == "cues" and "'lights'" in m and "not connected" in m for _, s, m in missed)
    back = live.of_type("device_back")
    assert [(e["source"], e["message"]) for e in back] == [("cues", "lights")]
    assert t0 + LOST[1] < back[0]["t"] < t0 + 2.5

    # The music and the timeline did not notice: the same as a rehearsal with the same
    # controls at the same moments, and levels kept being set through the outage.
    got, want = comparable(live.events), rehearsed_like(tl, live)
    assert same_times(got, want)
    during = [c.t for c in live.music.named("set_level") if t0 + 0.9 < c.t < t0 + 2.2]
    assert len(during) >= 30, during  # ~30 updates a second while the level moves
    assert max(b - a for a, b in itertools.pairwise(during)) < 0.1
    assert max(round_trips) < ROUND_TRIP_S, round_trips


# ----------------------------------------------------------------------- OSC


def osc(address: str, args: list[Any], at: str | float, target: str) -> dict[str, Any]:
    return {"at": at, "osc": {"address": address, "args": args, "target": target}}


OSC = {
    "name": "osc",
    "phases": [
        {
            "id": "scene",
            "duration": 1.0,
            "cues": [
                osc("/lights/scene", [1], "start", "lights"),
                osc("/fog/on", [1], 0.3, "dead"),  # nothing listens there
                osc("/lights/fade", [2, 0.5, "calm"], 0.6, "lights"),
                osc("/lights/scene", [0], "end", "lights"),
            ],
        }
    ],
}


@pytest.fixture
def osc_server() -> Iterator[tuple[int, list[tuple[float, str, list[Any]]]]]:
    got: list[tuple[float, str, list[Any]]] = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: got.append((time.monotonic(), address,
                                                                        list(args))))  # fmt: skip
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], got
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


def closed_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.midi  # no JACK needed, but a real-time test of the live engine
def test_osc_cues_arrive_as_planned_and_a_dead_target_disturbs_nothing(
    osc_server: tuple[int, list[tuple[float, str, list[Any]]]],
) -> None:
    port, got = osc_server
    targets = {"lights": f"127.0.0.1:{port}", "dead": f"127.0.0.1:{closed_udp_port()}"}
    room = Room.model_validate({"osc": {"targets": targets}})
    tl = timeline(OSC)
    with live_engine(tl, room) as live:
        t0 = started_at(live)
        live.sleep_until(t0 + 0.45)
        _, took = live.submit("note during OSC cues")
        assert took < ROUND_TRIP_S
        live.wait_event("session_ended")
    deadline = time.monotonic() + 2
    while len(got) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert [(a, args) for _, a, args in got] == [
        ("/lights/scene", [1]),
        ("/lights/fade", [2, 0.5, "calm"]),
        ("/lights/scene", [0]),
    ]
    late = [round(t - live.at(t0 + x), 4) for (t, _, _), x in zip(got, (0, 0.6, 1.0), strict=True)]
    assert all(0 <= x < HICCUP_S for x in late), late
    # A datagram to nowhere is not an error a sender can see; whatever it is, the session
    # is the same as its rehearsal.
    assert same_times(comparable(live.events), rehearsed_like(tl, live))
    assert [e["id"] for e in live.of_type("cue_sent")] == [
        "scene.0",
        "scene.1",
        "scene.2",
        "scene.3",
    ]


# ----------------------------------------------------------------------- plan and rehearse


def test_plan_and_rehearse_json_show_the_cues() -> None:
    """The room's demo profile, through the commands a clinician runs before a session."""

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "setandsetting", *args, "--patient", "P-0042", "--json"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        return done.stdout

    plan = json.loads(run("plan", "profiles/demo.yaml"))
    kinds = [(c["phase"], c["kind"]) for c in plan["cues"]]
    assert kinds[:4] == [
        ("arrival", "osc"),
        ("arrival", "midi"),
        ("dosing", "osc"),
        ("onset", "midi"),
    ]
    rehearsed = [json.loads(line) for line in run("rehearse", "profiles/demo.yaml").splitlines()]
    cues = [e for e in rehearsed if e["type"] == "cue_sent"]
    onset = next(c["payload"]["midi"] for c in cues if c["id"] == "onset.0")
    assert (onset["type"], onset["control"], onset["value"]) == ("control_change", 7, 90)
    assert len(cues) >= len(plan["cues"])
