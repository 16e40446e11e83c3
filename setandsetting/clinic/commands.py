"""What a room does with the dashboard's requests, fetched over its link: its engine decides.

An ack from the dashboard is the room's own `ack ID bp=… hr=…` control, parsed as the command
line parses it (an implausible reading is refused here too, whatever the hub checked),
applied by the engine and journaled there (readings as vitals_recorded) like one pressed in
the room; the dashboard sees it when the journaled event comes back with the room's next
push. A request for another session, or one the engine refuses, is answered with why, and
nothing is journaled for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from setandsetting.core.controls import parse_control
from setandsetting.engine.engine import EngineClosed
from setandsetting.engine.runner import SessionRunner


def command_applier(runner: SessionRunner) -> Callable[[dict[str, Any]], str]:
    """apply(command) -> its outcome, one line: `applied` or `refused: why`."""

    def apply(command: dict[str, Any]) -> str:
        payload = command.get("payload") or {}
        if command.get("kind") != "ack":
            return f"refused: this room does not know the command {command.get('kind')!r}"
        engine = runner.engine
        if engine is None or not engine.running or runner.session_id != command.get("session"):
            return "refused: that session is not running in this room"
        words = f"ack {payload.get('checkin', '')} {payload.get('readings') or ''}"
        try:
            control = parse_control(words.strip())
            events = engine.submit(control)
        except (ValueError, EngineClosed, TimeoutError) as err:
            return f"refused: {err}"
        refused = [e for e in events if e.get("type") == "control_refused"]
        return f"refused: {refused[0].get('reason')}" if refused else "applied"

    return apply
