"""MidiControlInput: a real foot switch port on JACK sends notes and CCs; reports are checked."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from setandsetting.backends.base import BackendReport
from setandsetting.backends.midi import POLL_S
from setandsetting.backends.midi_input import (
    DEFAULT_MAP,
    Binding,
    MidiControlInput,
    control_from_input,
    parse_binding,
)
from setandsetting.core.controls import LEVEL_STEP_DB, Control, parse_control
from tests.support.jack import Jack, VirtualOutput, jack

__all__ = ["jack"]


def test_parse_binding() -> None:
    assert parse_binding("note 60", "ack") == Binding("note", 60, None, "ack")
    assert parse_binding("CC 7 ch 2", "level") == Binding("cc", 7, 2, "level")
    assert parse_binding("note 61", "level  -5%") == Binding("note", 61, None, "level -5%")
    assert parse_binding("note 63", "level -2 dB") == Binding("note", 63, None, "level -2dB")


@pytest.mark.parametrize(
    ("key", "action", "error"),
    [
        ("pedal 3", "ack", "write `note N` or `cc N`"),
        ("note 128", "ack", "0..127"),
        ("cc 7 ch 17", "ack", "channels are 1..16"),
        ("note 60", "acknowledge", "is not one of ack, quiet"),
        ("note 60", "level", "needs a cc knob"),
        ("note 60", "level -5", "is not a level change"),  # % or dB? the CLI's grammar
        ("note 60", "level 40%", "a switch steps the level"),
    ],
)
def test_bad_map_entries_are_clear_errors(key: str, action: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        MidiControlInput({"fs": {"port": "FS-1", "map": {key: action}}}, lambda r: None)


def test_missing_port_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="`port`"):
        MidiControlInput({"fs": {"map": {}}}, lambda r: None)


def knob(value: int) -> BackendReport:
    return BackendReport("control", "level", data={"input": "fs", "cc": 7, "value": value})


def test_a_knob_is_absolute_around_the_curve_and_a_switch_is_its_action() -> None:
    assert control_from_input(knob(127), nudge_pct=0.0) == Control("level", 50.0)
    assert control_from_input(knob(1), nudge_pct=0.0) == Control("level", -50.0)
    # From where the session's nudge is when the control is applied: the knob's middle
    # is the curve itself, whatever nudges came before.
    assert control_from_input(knob(64), nudge_pct=20.0) == Control("level", -20.0)
    assert control_from_input(knob(127), nudge_pct=50.0) == Control("level", 0.0)
    assert control_from_input(knob(96), nudge_pct=-10.0) == Control("level", 35.4)
    switch = BackendReport("control", "ack", data={"input": "fs", "note": 60})
    assert control_from_input(switch, nudge_pct=20.0) == Control("ack")
    nudge = BackendReport("control", "level -5%", data={"note": 61})
    assert control_from_input(nudge, nudge_pct=20.0) == Control("level", -5.0)
    step = BackendReport("control", "level -2dB", data={"note": 63})
    assert control_from_input(step, nudge_pct=20.0) == Control("level", -2.0, unit="dB")
    assert control_from_input(BackendReport("control", "dance"), nudge_pct=0.0) is None


@pytest.fixture
def pedal(jack: Jack) -> Iterator[VirtualOutput]:
    port = VirtualOutput("FS-1 pedal", client="FS-1")
    try:
        yield port
    finally:
        port.close()


def _wait(reports: list[BackendReport], count: int) -> list[BackendReport]:
    deadline = time.monotonic() + 2
    while len(reports) < count and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(POLL_S + 0.03)  # and nothing more arrives: a whole drain later
    return list(reports)


@pytest.mark.midi
def test_mapped_notes_and_knob_are_reported(pedal: VirtualOutput) -> None:
    reports: list[BackendReport] = []
    threads: set[str] = set()

    def report(r: BackendReport) -> None:
        threads.add(threading.current_thread().name)
        reports.append(r)

    mapping = {"note 60": "ack", "cc 7": "level", "note 62 ch 2": "level +5%", "cc 64": "next"}
    control = MidiControlInput(
        {"footswitch": {"port": "FS-1", "map": mapping}}, report, api="UNIX_JACK"
    )
    try:
        deadline = time.monotonic() + 3
        while control.connected()["footswitch"] is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert control.connected() == {"footswitch": "FS-1:FS-1 pedal"}
        pedal.send([0x90, 60, 100])
        assert [(r.source, r.kind) for r in _wait(reports, 1)] == [("control", "ack")]
        assert reports[0].data == {"input": "footswitch", "channel": 1, "note": 60, "velocity": 100}
        pedal.send([0x80, 60, 0])  # release
        pedal.send([0x90, 60, 0])  # release as velocity 0
        pedal.send([0x90, 61, 100])  # unmapped
        pedal.send([0x91, 62, 100])  # mapped on channel 2 only: channel 2 is 0x91
        pedal.send([0x90, 62, 100])  # channel 1: not mapped
        pedal.send([0xB0, 7, 100])
        got = _wait(reports, 3)[1:]
        assert [(r.kind, r.data) for r in got] == [
            ("level +5%", {"input": "footswitch", "channel": 2, "note": 62, "velocity": 100}),
            ("level", {"input": "footswitch", "channel": 1, "cc": 7, "value": 100}),
        ]  # fmt: skip
        for value in (127, 127, 0, 100):  # sustain pedal: fires on each press only
            pedal.send([0xB0, 64, value])
            time.sleep(0.005)
        assert [r.kind for r in _wait(reports, 5)[3:]] == ["next", "next"]
        # Decoded by our watcher, not by a Python callback in JACK's process thread.
        assert threads == {"midi-input-watch"}
    finally:
        control.close()


@pytest.mark.midi
def test_pedal_unplugged_and_back_is_reported_and_works_again(jack: Jack) -> None:
    reports: list[BackendReport] = []
    control = MidiControlInput(
        {"fs": {"port": "FS-1", "map": {"note 60": "ack"}}}, reports.append, "UNIX_JACK", 0.02
    )
    try:
        first = VirtualOutput("FS-1 pedal", client="FS-1")
        deadline = time.monotonic() + 3
        while control.connected()["fs"] is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert control.connected() == {"fs": "FS-1:FS-1 pedal"}
        first.close()
        # Unplugged: noticed before the pedal is back (a person takes longer than a poll).
        assert [(r.kind, r.message) for r in _wait(reports, 1)] == [("device_lost", "fs")]
        assert control.connected() == {"fs": None}
        second = VirtualOutput("FS-1 pedal", client="FS-1")
        try:
            got = _wait(reports, 2)
            assert [(r.kind, r.message) for r in got] == [("device_lost", "fs"),
                                                          ("device_back", "fs")]  # fmt: skip
            assert control.connected() == {"fs": "FS-1:FS-1 pedal"}
            second.send([0x90, 60, 1])
            assert [r.kind for r in _wait(reports, 3)] == ["device_lost", "device_back", "ack"]
        finally:
            second.close()
    finally:
        control.close()


def test_the_level_step_is_one_and_the_same_in_the_cli_grammar_and_the_default_map() -> None:
    """`level up`/`level down` are LEVEL_STEP_DB in the grammar the CLI and the API parse,
    and the foot switch's default map steps by exactly them (the Live page's buttons send
    the same words: tests/server/test_pages.py; the API applies them: routes/test_session)."""
    up, down = (
        Control("level", LEVEL_STEP_DB, unit="dB"),
        Control("level", -LEVEL_STEP_DB, unit="dB"),
    )
    assert LEVEL_STEP_DB == 2.0
    assert (parse_control("level up"), parse_control("level down")) == (up, down)
    steps = {}
    for key, action in DEFAULT_MAP.items():
        binding = parse_binding(key, action)
        report = BackendReport("control", binding.action, data={"note": binding.number})
        steps[key] = control_from_input(report, nudge_pct=12.0)
    assert steps == {
        "note 60": Control("ack"),
        "note 62": Control("quiet"),
        "note 64": down,
        "note 65": up,
    }
