"""OscCues against a real python-osc UDP server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer

from setandsetting.backends.base import CueError
from setandsetting.backends.osc import OscCues


class Received:
    """What a real OSC server got, (address, args) in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[object]]] = []
        self._cond = threading.Condition()

    def handle(self, address: str, *args: object) -> None:
        with self._cond:
            self.messages.append((address, list(args)))
            self._cond.notify_all()

    def wait_for(self, count: int) -> list[tuple[str, list[object]]]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.messages) >= count, 2.0)
            return list(self.messages)


@pytest.fixture
def server() -> Iterator[tuple[int, Received]]:
    received = Received()
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(received.handle)
    osc = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=osc.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield osc.server_address[1], received
    finally:
        osc.shutdown()
        osc.server_close()
        thread.join(timeout=5)


def test_planned_messages_arrive_exactly(server: tuple[int, Received]) -> None:
    port, received = server
    cues = OscCues({"lights": f"127.0.0.1:{port}"})
    try:
        cues.send({"osc": {"address": "/lights/scene", "args": [2], "target": "lights"}})
        cues.send({"osc": {"address": "/diffuser/on"}})
        cues.send({"osc": {"address": "/mix", "args": [0.5, "warm", True]}})
        assert received.wait_for(3) == [
            ("/lights/scene", [2]),
            ("/diffuser/on", []),
            ("/mix", [0.5, "warm", True]),
        ]
    finally:
        cues.close()


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("127.0.0.1", "write host:port"),
        (":7700", "write host:port"),
        ("127.0.0.1:0", "not in 1..65535"),
        ("127.0.0.1:70000", "not in 1..65535"),
        ("host:port", "write host:port"),
        ("no.such.host.invalid:7700", "cannot resolve host 'no.such.host.invalid'"),
        # room.yaml's reading (core.room.parse_target) takes any host; this one cannot resolve
        ("fe80::zz:7700", "cannot resolve host 'fe80::zz'"),
    ],
)
def test_bad_targets_are_clear_errors(target: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        OscCues({"lights": target})


def test_bad_cues_and_unknown_targets_are_cue_errors(server: tuple[int, Received]) -> None:
    port, received = server
    cues = OscCues({"a": f"127.0.0.1:{port}", "b": f"localhost:{port}"})
    try:
        with pytest.raises(CueError, match="several OSC targets"):
            cues.send({"osc": {"address": "/x"}})
        with pytest.raises(CueError, match=r"'c' is not in room\.yaml"):
            cues.send({"osc": {"address": "/x", "target": "c"}})
        with pytest.raises(CueError, match="must start with /"):
            cues.send({"osc": {"address": "x", "target": "a"}})
        with pytest.raises(CueError, match="is not a number"):
            cues.send({"osc": {"address": "/x", "args": [None], "target": "a"}})
        cues.send({"osc": {"address": "/ok", "target": "b"}})
        assert received.wait_for(1) == [("/ok", [])]
    finally:
        cues.close()
