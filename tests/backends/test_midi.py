"""MidiCues against a real JACK server: exact bytes, latency, ramps, losing and regaining a port."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from setandsetting.backends.base import BackendReport, CueError
from setandsetting.backends.midi import (
    DRAIN_S,
    MidiCues,
    PortWatcher,
    build_message,
    match_port,
    next_due,
)
from setandsetting.core.profile import CuePayload
from tests.support.jack import Jack, VirtualInput, jack

__all__ = ["jack"]


def test_match_port_by_prefix_of_full_name_or_of_port_part() -> None:
    names = ["test:QLC+ test in", "QLC+:QLC+ MIDI In 128:0", "other:x"]
    assert match_port(names, "QLC+") == "test:QLC+ test in"
    assert match_port(names[1:], "QLC+") == "QLC+:QLC+ MIDI In 128:0"
    assert match_port(names, "other") == "other:x"
    assert match_port(names, "LC+") is None


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (
            {"type": "note_on", "channel": 0, "note": 60},
            "MIDI note_on: channel: should be greater than or equal to 1 (got 0)",
        ),
        (
            {"type": "note_on", "channel": 17, "note": 60},
            "MIDI note_on: channel: should be less than or equal to 16 (got 17)",
        ),
        (
            {"type": "note_on", "note": 128},
            "MIDI note_on: note: should be less than or equal to 127 (got 128)",
        ),
        (
            {"type": "note_on", "note": 60.5},
            "MIDI note_on: note: should be a valid integer, got a number with a fractional part "
            "(got 60.5)",
        ),
        ({"type": "note_on"}, "MIDI note_on: a note_on message needs `note`"),
        (
            {"type": "control_change", "control": 7},
            "MIDI control_change: a control_change needs `value` or `ramp`",
        ),
        (
            {"type": "control_change", "control": 7, "ramp": {"from": 0, "to": 9, "over": "5s"}},
            "MIDI control_change needs `value` (a ramp is sent by the engine as successive values)",
        ),
        (
            {"type": "program_change", "program": -1},
            "MIDI program_change: program: should be greater than or equal to 0 (got -1)",
        ),
        (
            {"type": "sysex", "data": [0xF0, 1, 0xF7]},
            "MIDI sysex: data[0]: should be less than or equal to 127 (got 240); "
            "data[2]: should be less than or equal to 127 (got 247)",
        ),
        (
            {"type": "pitchwheel"},
            "MIDI pitchwheel: type: should be 'note_on', 'note_off', 'control_change', "
            "'program_change' or 'sysex' (got 'pitchwheel')",
        ),
        (
            {"type": "note_on", "note": 1, "colour": 2},
            "MIDI note_on: colour: unknown key `colour` (allowed here: type, channel, note, "
            "velocity, control, value, program, data, port, ramp)",
        ),
        (5, "MIDI: should be a mapping of `key: value` lines, not 5"),
    ],
)
def test_bad_payloads_are_clear_cue_errors(payload: dict, error: str) -> None:
    """In the words `validate` uses for the same cue in a profile."""
    with pytest.raises(CueError) as refused:
        build_message(payload)
    assert str(refused.value) == error


@pytest.mark.parametrize(
    ("payload", "sent"),
    [
        ({"type": "note_on", "note": 60}, [0x90, 60, 64]),
        ({"type": "note_off", "channel": 16, "note": 60, "velocity": 0}, [0x8F, 60, 0]),
        ({"type": "control_change", "channel": 2, "control": 7, "value": 64}, [0xB1, 7, 64]),
        ({"type": "program_change", "program": 5, "velocity": 3}, [0xC0, 5]),
        ({"type": "sysex", "data": [0x7D, 1], "channel": 3}, [0xF0, 0x7D, 1, 0xF7]),
        # The profile's rules read these as it does: whole numbers written as text or x.0.
        ({"type": "note_on", "note": "60", "velocity": 100.0}, [0x90, 60, 100]),
    ],
)
def test_a_payload_is_sent_as_the_profile_reads_it(payload: dict, sent: list[int]) -> None:
    assert build_message(payload).bytes() == sent


@pytest.mark.parametrize(
    "midi",
    [
        {"type": "note_on", "note": True},
        {"type": "note_on", "note": "60"},
        {"type": "note_on", "note": 60.0, "channel": "16"},
        {"type": "note_on", "note": 60.5},
        {"type": "note_on", "note": 60, "port": "lights"},
        {"type": "sysex", "data": []},
        {"type": "sysex", "data": [1], "channel": 0},
        {"type": "program_change", "program": 5, "note": 200},
        {"type": "control_change", "control": 7, "value": 0},
        {"type": "note_on", "note": 60, "ramp": {"from": 0, "to": 9, "over": "5s"}},
    ],
)
def test_the_backend_sends_exactly_what_a_profile_accepts(midi: dict) -> None:
    """Where the two used to disagree (text and booleans for numbers, a sysex's channel), the
    profile's rules decide."""
    try:
        CuePayload.model_validate({"midi": midi})
    except ValidationError:
        accepted = False
    else:
        accepted = True
    try:
        build_message(midi)
    except CueError:
        sent = False
    else:
        sent = True
    assert sent == accepted


def test_unconfigured_or_ambiguous_ports_are_cue_errors() -> None:
    cues = MidiCues({}, lambda r: None)
    with pytest.raises(CueError, match="no MIDI output configured"):
        cues.send({"midi": {"type": "note_on", "note": 60}})
    with pytest.raises(ValueError, match="unknown MIDI API"):
        MidiCues({}, lambda r: None, api="NOPE")
    with pytest.raises(ValueError, match="must not be empty"):
        MidiCues({"lights": ""}, lambda r: None)


def test_the_watcher_sleeps_through_a_back_off_and_polls_while_a_client_is_open() -> None:
    """No MIDI system: nothing to do until the back-off ends, so no 20 Hz wake-ups."""

    class Client:
        def __init__(self, client: object, next_try: float) -> None:
            self.client, self.next_try = client, next_try

    assert next_due([Client(None, 7.0), Client(None, 5.0)], 1.0) == 5.0
    assert next_due([Client(None, 7.0), Client(object(), 0.0)], 1.0) == 1.0  # ports to watch

    steps: list[float] = []

    def backing_off(now: float) -> float:
        steps.append(now)
        return now + 10.0

    watcher = PortWatcher(backing_off, "test-watch", poll_s=0.02)
    time.sleep(0.5)
    watcher.wake()  # a failed send hurries it
    time.sleep(0.1)
    watcher.close()
    assert len(steps) == 2, steps

    polls: list[float] = []
    watcher = PortWatcher(lambda now: (polls.append(now), now)[1], "test-watch", poll_s=0.02)
    time.sleep(0.5)
    watcher.close()
    assert len(polls) >= 10  # every 20 ms while connected


@pytest.fixture
def receiver(jack: Jack) -> Iterator[VirtualInput]:
    port = VirtualInput("QLC+ test in")
    try:
        yield port
    finally:
        port.close()


@pytest.fixture
def reports() -> list[BackendReport]:
    return []


@pytest.fixture
def cues(receiver: VirtualInput, reports: list[BackendReport]) -> Iterator[MidiCues]:
    backend = MidiCues({"lights": "QLC+"}, reports.append, api="UNIX_JACK", poll_s=0.02)
    try:
        assert backend.wait_connected(3.0)
        yield backend
    finally:
        backend.close()


NOTE_ON = {"type": "note_on", "channel": 1, "note": 60, "velocity": 80, "port": "lights"}
SYSEX = {"type": "sysex", "channel": 1, "data": [0x7E, 0x7F, 0x06, 0x01]}
CASES = [
    (NOTE_ON, [0x90, 60, 80]),
    ({"type": "note_off", "channel": 2, "note": 60, "velocity": 0}, [0x81, 60, 0]),
    ({"type": "control_change", "channel": 16, "control": 7, "value": 64}, [0xBF, 7, 64]),
    ({"type": "program_change", "channel": 1, "program": 3}, [0xC0, 3]),
    (SYSEX, [0xF0, 0x7E, 0x7F, 6, 1, 0xF7]),
]  # fmt: skip


@pytest.mark.midi
def test_each_cue_type_arrives_exactly_and_within_10ms(
    cues: MidiCues, receiver: VirtualInput
) -> None:
    sent_at = []
    for payload, _ in CASES:
        sent_at.append(time.monotonic())
        cues.send({"midi": payload})
        receiver.wait_for(len(sent_at))
    arrivals = receiver.wait_for(len(CASES))
    assert [data for _, data in arrivals] == [expected for _, expected in CASES]
    latencies = [t - s for (t, _), s in zip(arrivals, sent_at, strict=True)]
    assert all(0 <= lat < 0.010 for lat in latencies), latencies


@pytest.mark.midi
def test_cc_ramp_arrives_monotone_and_ends_at_target(
    cues: MidiCues, receiver: VirtualInput
) -> None:
    values = [round(60 + (20 - 60) * i / 40) for i in range(41)]
    steps = [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
    for value in steps:
        cues.send({"midi": {"type": "control_change", "channel": 1, "control": 7, "value": value}})
        time.sleep(0.002)
    arrivals = [data for _, data in receiver.wait_for(len(steps))]
    assert all(data[:2] == [0xB0, 7] for data in arrivals)
    received = [data[2] for data in arrivals]
    assert received == steps
    assert all(a > b for a, b in itertools.pairwise(received))
    assert received[-1] == 20


@pytest.mark.midi
def test_lost_port_fails_fast_then_reconnects_by_itself(
    jack: Jack, cues: MidiCues, receiver: VirtualInput, reports: list[BackendReport]
) -> None:
    note = {"midi": {"type": "note_on", "channel": 1, "note": 60, "velocity": 80}}
    cues.send(note)
    assert receiver.wait_for(1)[0][1] == [0x90, 60, 80]
    receiver.close()
    durations = []
    for _ in range(5):
        start = time.monotonic()
        with pytest.raises(CueError, match="lights"):
            cues.send(note)
        durations.append(time.monotonic() - start)
        time.sleep(0.03)
    assert max(durations) < 0.005, durations
    assert [(r.kind, r.message) for r in reports] == [("device_lost", "lights")]

    again = VirtualInput("QLC+ test in")
    try:
        deadline = time.monotonic() + 3
        while not any(r.kind == "device_back" for r in reports) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [(r.source, r.kind, r.message) for r in reports] == [
            ("cues", "device_lost", "lights"),
            ("cues", "device_back", "lights"),
        ]
        assert reports[1].data == {"port": "test:QLC+ test in"}
        cues.send({"midi": {"type": "note_on", "channel": 1, "note": 62, "velocity": 90}})
        assert [data for _, data in again.wait_for(1)] == [[0x90, 62, 90]]
    finally:
        again.close()


@pytest.mark.midi
def test_all_notes_off_sends_cc123_on_each_channel(cues: MidiCues, receiver: VirtualInput) -> None:
    cues.all_notes_off([3, 1, 3])
    assert [data for _, data in receiver.wait_for(2)] == [[0xB0, 123, 0], [0xB2, 123, 0]]
    time.sleep(0.02)
    assert len(receiver.received) == 2


@pytest.mark.midi
def test_closing_right_after_a_send_lets_it_leave_first(
    receiver: VirtualInput, reports: list[BackendReport]
) -> None:
    """The session's last cue (all notes off) is sent just before the ports close."""
    backend = MidiCues({"lights": "QLC+"}, reports.append, api="UNIX_JACK", poll_s=0.02)
    assert backend.wait_connected(3.0)
    backend.all_notes_off([1])
    began = time.monotonic()
    backend.close()
    assert time.monotonic() - began >= DRAIN_S * 0.9  # it waited for the message to leave
    assert [d for _, d in receiver.wait_for(1)] == [[0xB0, 123, 0]]
    quiet = MidiCues({"lights": "QLC+"}, reports.append, api="UNIX_JACK", poll_s=0.02)
    assert quiet.wait_connected(3.0)
    time.sleep(DRAIN_S)
    began = time.monotonic()
    quiet.close()
    assert time.monotonic() - began < DRAIN_S * 0.9  # nothing sent lately: no wait


def test_ports_lists_the_virtual_input(cues: MidiCues) -> None:
    assert "test:QLC+ test in" in cues.ports()


@pytest.mark.midi
def test_port_missing_from_the_start_errors_then_comes_back(jack: Jack) -> None:
    reports: list[BackendReport] = []
    backend = MidiCues({"fog": "Fogger"}, reports.append, api="UNIX_JACK", poll_s=0.02)
    try:
        assert not backend.wait_connected(0.2)
        with pytest.raises(CueError, match=r"'fog' .*not connected"):
            backend.send({"midi": {"type": "program_change", "program": 1}})
        fogger = VirtualInput("Fogger in", client="Fogger")
        try:
            assert backend.wait_connected(3.0)
            time.sleep(0.01)
            assert [(r.kind, r.message) for r in reports] == [("device_back", "fog")]
            backend.send({"midi": {"type": "program_change", "program": 1}})
            assert [data for _, data in fogger.wait_for(1)] == [[0xC0, 1]]
        finally:
            fogger.close()
    finally:
        backend.close()
