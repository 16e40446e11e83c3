"""A foot switch and a knob on real JACK ports driving the live engine (room.midi.inputs)."""

from __future__ import annotations

import time

import pytest

from setandsetting.core.room import Room
from setandsetting.engine.devices import midi_control
from tests.support.jack import Jack, VirtualOutput, jack
from tests.support.live_engine import live_engine
from tests.support.timelines import timeline

__all__ = ["jack"]

ROOM = Room.model_validate(
    {
        "midi": {
            "inputs": {
                "footswitch": {
                    "port": "FS-1",
                    "map": {"note 60": "ack", "note 62": "quiet", "cc 7": "level"},
                }
            }
        }
    }
)
PROFILE = {
    "name": "hands-free",
    "phases": [
        {
            "id": "peak",
            "duration": 20.0,
            "music": "a",
            "level": 0.5,
            "checkins": [{"at": [0.3], "ack": "required", "audience": "staff"}],
        }
    ],
}


@pytest.mark.midi
def test_foot_switch_acknowledges_quiets_and_the_knob_sets_the_level(jack: Jack) -> None:
    pedal = VirtualOutput("FS-1 pedal", client="FS-1")
    try:
        with live_engine(timeline(PROFILE, {"a": [60.0]}), ROOM) as live:
            control = midi_control(ROOM, live.engine.report, midi_api="UNIX_JACK")
            assert control is not None
            live.engine.attach(control)  # as SessionRunner does: closed with the session
            deadline = time.monotonic() + 3
            while control.connected()["footswitch"] is None and time.monotonic() < deadline:
                time.sleep(0.005)
            assert control.connected() == {"footswitch": "FS-1:FS-1 pedal"}
            due = live.wait_event("checkin_due")
            assert [p["id"] for p in live.engine.snapshot()["pending"]] == [due["id"]]

            pedal.send([0x90, 60, 100])  # the switch pressed
            acked = live.wait_event("checkin_acknowledged")
            assert acked["id"] == due["id"]
            assert live.engine.snapshot()["pending"] == []

            before = live.engine.snapshot()["level"]
            pedal.send([0xB0, 7, 127])  # the knob turned all the way up
            changed = live.wait_event("level_changed")
            assert changed["level"] > before and changed["nudge_pct"] == 50.0

            pedal.send([0x90, 62, 100])
            live.wait_event("quiet")
            assert live.engine.snapshot()["music"] == "quiet"
            live.submit("stop")
    finally:
        pedal.close()
    controls = [(e["action"], e.get("value")) for e in live.of_type("control")]
    assert controls[:3] == [("ack", None), ("level", 50.0), ("quiet", None)], controls
    kinds = [e["type"] for e in live.events]
    assert kinds.index("checkin_acknowledged") == kinds.index("control") + 1
    assert not live.of_type("error")
