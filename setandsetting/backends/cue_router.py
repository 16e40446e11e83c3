"""One CueBackend for the engine: MIDI cues to MidiCues, OSC cues to OscCues.

It remembers which MIDI channels of which output carried notes (a send that raised wrote
nothing), so that `quiet` and the session end can send all-notes-off exactly where notes
may be hanging.
"""

from __future__ import annotations

from typing import Any

from setandsetting.backends.base import CueBackend, CueError
from setandsetting.backends.midi import MidiCues
from setandsetting.backends.osc import OscCues

NOTE_TYPES = ("note_on", "note_off")


class CueRouter(CueBackend):
    """Dispatches {"midi": ...} and {"osc": ...} cues; either backend may be absent."""

    def __init__(self, midi: MidiCues | None, osc: OscCues | None) -> None:
        self._midi, self._osc = midi, osc
        self._used: dict[str, set[int]] = {}

    def send(self, cue: dict[str, Any]) -> None:
        if not isinstance(cue, dict) or len(cue) != 1 or not set(cue) <= {"midi", "osc"}:
            raise CueError("a cue is exactly one of {'midi': {...}} or {'osc': {...}}")
        if "osc" in cue:
            if self._osc is None:
                raise CueError("no OSC target configured (room.yaml osc.targets)")
            self._osc.send(cue)
            return
        if self._midi is None:
            raise CueError("no MIDI output configured (room.yaml midi.outputs)")
        is_note = isinstance(cue["midi"], dict) and cue["midi"].get("type") in NOTE_TYPES
        name, channel = self._midi.deliver(cue["midi"])
        if is_note and channel is not None:
            self._used.setdefault(name, set()).add(channel)

    def wait_connected(self, timeout: float) -> bool:
        """Wait up to `timeout` s for every MIDI output (session start, tests); OSC needs none."""
        return self._midi is None or self._midi.wait_connected(timeout)

    def channels_used(self) -> dict[str, list[int]]:
        """Output name -> MIDI channels (1-16) that carried notes this session."""
        return {name: sorted(channels) for name, channels in sorted(self._used.items())}

    def all_notes_off(self) -> None:
        """CC 123 on every channel that carried notes; tries every output, then raises."""
        if self._midi is None:
            return
        errors = []
        for name, channels in self.channels_used().items():
            try:
                self._midi.all_notes_off(channels, port=name)
            except CueError as exc:
                errors.append(str(exc))
        if errors:
            raise CueError("; ".join(errors))

    def close(self) -> None:
        for backend in (self._midi, self._osc):
            if backend is not None:
                backend.close()
