"""CueRouter: real dispatch to a JACK MIDI port and a UDP OSC server, and all-notes-off bytes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer

from setandsetting.backends.base import CueError
from setandsetting.backends.cue_router import CueRouter
from setandsetting.backends.midi import MidiCues
from setandsetting.backends.osc import OscCues
from tests.support.jack import Jack, VirtualInput, jack

__all__ = ["jack"]


@pytest.fixture
def osc_port() -> Iterator[tuple[int, list[tuple[str, tuple[object, ...]]]]]:
    got: list[tuple[str, tuple[object, ...]]] = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: got.append((address, args)))
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], got
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_without_backends_cues_are_clear_errors() -> None:
    router = CueRouter(None, None)
    with pytest.raises(CueError, match="no OSC target configured"):
        router.send({"osc": {"address": "/x"}})
    with pytest.raises(CueError, match="no MIDI output configured"):
        router.send({"midi": {"type": "note_on", "note": 60}})
    with pytest.raises(CueError, match="exactly one of"):
        router.send({"midi": {}, "osc": {}})
    router.all_notes_off()  # nothing configured, nothing to silence
    router.close()


@pytest.mark.midi
def test_dispatch_and_all_notes_off_on_the_channels_that_carried_notes(
    jack: Jack, osc_port: tuple[int, list[tuple[str, tuple[object, ...]]]]
) -> None:
    port, osc_got = osc_port
    lights, fog = VirtualInput("QLC+ in"), VirtualInput("Fog in", client="fogger")
    midi = MidiCues({"lights": "QLC+", "fog": "fogger"}, lambda r: None, api="UNIX_JACK")
    router = CueRouter(midi, OscCues({"desk": f"127.0.0.1:{port}"}))
    try:
        assert midi.wait_connected(3.0)
        # One message per JACK period and port: see the report on back-to-back duplicates.
        sends = [
            ({"type": "note_on", "channel": 3, "note": 60, "port": "lights"}, lights),
            ({"type": "note_on", "channel": 3, "note": 61, "port": "lights"}, lights),
            ({"type": "control_change", "channel": 9, "control": 7, "value": 1}, lights),
            ({"type": "note_off", "channel": 5, "note": 40, "port": "fog"}, fog),
        ]
        for payload, receiver in sends:
            count = len(receiver.received)
            router.send({"midi": {"port": "lights", **payload}})
            receiver.wait_for(count + 1)
        router.send({"osc": {"address": "/lights/scene", "args": [2]}})
        assert router.channels_used() == {"fog": [5], "lights": [3]}
        router.all_notes_off()
        assert [d for _, d in lights.wait_for(4)] == [
            [0x92, 60, 64], [0x92, 61, 64], [0xB8, 7, 1], [0xB2, 123, 0],
        ]  # fmt: skip
        assert [d for _, d in fog.wait_for(2)] == [[0x84, 40, 64], [0xB4, 123, 0]]
        deadline = time.monotonic() + 2
        while not osc_got and time.monotonic() < deadline:
            time.sleep(0.005)
        assert osc_got == [("/lights/scene", (2,))]

        fog.close()  # a vanished output: the other one is still silenced, then it raises
        with pytest.raises(CueError, match="'fog'"):
            router.all_notes_off()
        assert [d for _, d in lights.wait_for(5)][4:] == [[0xB2, 123, 0]]
    finally:
        router.close()
        lights.close()
        fog.close()
