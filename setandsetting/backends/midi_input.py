"""Hands-free control: a foot switch or knob mapped in room.yaml to session controls.

    midi:
      inputs:
        footswitch: {port: "FS-1", map: {note 60: ack, note 62: quiet, cc 7: level}}

Keys are `note N` or `cc N`, optionally `ch C` (1-16) to listen on one channel only.
Actions: ack, quiet, resume, next, `level up` / `level down` (the one fixed step the Live
page and the CLI take too), `level +N%` / `level -2dB` (a step of its own), and `level` (a
CC knob: data {"value": 0..127}). An input without a `map` gets DEFAULT_MAP. Notes fire on
note_on with velocity > 0 only, so a switch's release never fires twice; a CC mapped to
anything but `level` fires when it rises to 64 or more (a pedal pressed). Each report is
BackendReport("control", kind=<action as written>), and `control_from_input` says which
session Control it is.
Ports are matched by prefix and (re)opened by a watcher thread like MIDI outputs. The same
thread drains what arrived from rtmidi's queue at each step (every POLL_S, 50 ms: a press is
reported at most that late), and `report` only queues.

Why not an rtmidi callback: on JACK, rtmidi calls it in JACK's process thread, and a Python
callback there waits for the GIL. That thread runs every JACK client's audio and MIDI: a
wait of a few milliseconds is an xrun (a click in any audio going through JACK), and a
synchronous server waits for the slow client, or drops it from the graph.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rtmidi

from setandsetting.backends.base import BackendReport, CueError, Report
from setandsetting.backends.midi import (
    BACKOFF_S,
    POLL_S,
    PortWatcher,
    api_ids,
    match_port,
    next_due,
    open_client,
)
from setandsetting.core.controls import Control, parse_control

ACTIONS = ("ack", "quiet", "resume", "next", "level")
# A four-switch pedal's map when room.yaml gives none: the level steps are `level up` and
# `level down`, the very step of the Live page's buttons and the CLI (LEVEL_STEP_DB).
DEFAULT_MAP = {"note 60": "ack", "note 62": "quiet", "note 64": "level down", "note 65": "level up"}
KNOB_RANGE_PCT = 50.0  # a level knob spans -50 % .. +50 % around the profile's curve
_KEY = re.compile(r"^\s*(note|cc)\s+(\d{1,3})(?:\s+ch\s+(\d{1,2}))?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Binding:
    """One map entry: which message (kind, number, channel or None = any) does what."""

    kind: str  # "note" | "cc"
    number: int
    channel: int | None
    action: str  # one of ACTIONS, or a level change in the text form (`level -2dB`)


def parse_binding(key: str, action: str) -> Binding:
    """`note 60` / `cc 7 ch 2` and an action -> Binding; ValueError names the mistake."""
    m = _KEY.match(str(key))
    if not m:
        raise ValueError(f"MIDI map key {key!r}: write `note N` or `cc N` (optionally `ch C`)")
    kind, number, channel = m.group(1).lower(), int(m.group(2)), m.group(3)
    if number > 127:
        raise ValueError(f"MIDI map key {key!r}: {kind} numbers are 0..127")
    if channel is not None and not 1 <= int(channel) <= 16:
        raise ValueError(f"MIDI map key {key!r}: channels are 1..16")
    text = " ".join(str(action).split())
    if text.startswith("level "):  # a step, in the grammar of every other surface
        try:
            step = parse_control(text)
        except ValueError as err:
            raise ValueError(f"MIDI map {key!r}: {err}") from None
        if step.absolute:
            raise ValueError(f"MIDI map {key!r}: a switch steps the level: write level -2dB")
        text = step.describe()
    elif text not in ACTIONS:
        raise ValueError(
            f"MIDI map {key!r}: action {action!r} is not one of "
            f"{', '.join(ACTIONS)}, or a level step (level -2dB, level +5%)"
        )
    if text == "level" and kind == "note":
        raise ValueError(f"MIDI map {key!r}: `level` needs a cc knob; a note can step: level -2dB")
    return Binding(kind, number, None if channel is None else int(channel), text)


def control_from_input(report: BackendReport, nudge_pct: float) -> Control | None:
    """The Control a foot switch or knob report means, or None when it means nothing.

    A `level` knob is absolute: its middle (64) is the profile's curve, its ends are
    -/+KNOB_RANGE_PCT. Its Control is the nudge from the session's nudge now (`nudge_pct`,
    given by whoever applies it, when it is applied: knob moves that queued up together each
    land where the knob says, not on top of each other)."""
    data = report.data or {}
    if report.kind == "level" and "value" in data:
        target = (int(data["value"]) - 64) / 63.0 * KNOB_RANGE_PCT
        return Control("level", round(target - nudge_pct, 2))
    try:
        return parse_control(report.kind)
    except ValueError:
        return None


def _spec(name: str, spec: Any) -> tuple[str, Mapping[str, str]]:
    port = spec.get("port") if isinstance(spec, Mapping) else getattr(spec, "port", None)
    mapping = spec.get("map", {}) if isinstance(spec, Mapping) else getattr(spec, "map", {})
    if not isinstance(port, str) or not port:
        raise ValueError(f"MIDI input {name!r}: `port` (a port name prefix) is required")
    return port, mapping


class _Input:
    """One named input: its rtmidi client, mapped bindings, and connection state."""

    def __init__(
        self, name: str, prefix: str, bindings: list[Binding], api: str | None, report: Report
    ) -> None:
        self.name, self.prefix, self.api, self.report = name, prefix, api, report
        self.bindings = {(b.kind, b.number, b.channel): b for b in bindings}
        self.client: Any = None
        self.target: str | None = None
        self.lost = False
        self.cc_values: dict[tuple[int, int], int] = {}
        self.next_try = 0.0
        self.backoff = BACKOFF_S[0]

    def drain(self) -> None:
        """Decode and report each message rtmidi has queued since the last step."""
        while self.target is not None and (event := self.client.get_message()):
            self.arrived(event[0])

    def arrived(self, data: list[int]) -> None:
        """One message: decode, look up, report. Nothing else."""
        if len(data) != 3:
            return
        status, number, value = data
        channel = (status & 0x0F) + 1
        if status & 0xF0 == 0x90 and value > 0:
            kind = "note"
        elif status & 0xF0 == 0xB0:
            kind = "cc"
        else:
            return
        binding = self.bindings.get((kind, number, channel)) or self.bindings.get(
            (kind, number, None)
        )
        if binding is None:
            return
        info: dict[str, Any] = {"input": self.name, "channel": channel, kind: number}
        if kind == "cc":
            previous = self.cc_values.get((channel, number), 0)
            self.cc_values[(channel, number)] = value
            info["value"] = value
            if binding.action != "level" and not (value >= 64 > previous):
                return
        else:
            info["velocity"] = value
        self.report(BackendReport("control", binding.action, data=info))

    def maintain(self, now: float) -> None:
        """Watcher step: report what arrived (before a loss, so a press just before an
        unplug still counts), notice a vanished port, (re)open a matching one."""
        self.drain()
        if now < self.next_try:
            return
        if self.client is None:
            try:
                self.client = open_client(rtmidi.MidiIn, self.api)
            except CueError:
                self.next_try = now + self.backoff
                self.backoff = min(self.backoff * 2, BACKOFF_S[1])
                return
        self.backoff = BACKOFF_S[0]
        names = self.client.get_ports()
        if self.target is not None and self.target not in names:
            lost, self.target, self.lost = self.target, None, True
            self.client.close_port()
            self.report(BackendReport("control", "device_lost", message=self.name,
                                      data={"port": lost}))  # fmt: skip
        if self.target is None and (found := match_port(names, self.prefix)):
            try:
                self.client.open_port(names.index(found), self.name)
            except (rtmidi.RtMidiError, OSError):
                return
            self.target = found
            if self.lost:
                self.lost = False
                self.report(BackendReport("control", "device_back", message=self.name,
                                          data={"port": found}))  # fmt: skip

    def close(self) -> None:
        if self.client is not None:
            self.client.close_port()
            self.client.delete()
        self.client, self.target = None, None


class MidiControlInput:
    """Listens on the inputs of room.yaml `midi.inputs` and reports mapped controls.

    `inputs` maps a name to {"port": prefix, "map": {"note 60": "ack", ...}} (a dict or the
    room model). Bad keys or actions raise ValueError at construction, before any session.
    """

    def __init__(
        self,
        inputs: Mapping[str, Any],
        report: Report,
        api: str | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        api_ids(api)
        self._inputs = []
        for name, spec in inputs.items():
            prefix, mapping = _spec(name, spec)
            bindings = [parse_binding(k, action) for k, action in (mapping or DEFAULT_MAP).items()]
            self._inputs.append(_Input(name, prefix, bindings, api, report))
        self._lock = threading.Lock()
        self._watcher = (
            PortWatcher(self._maintain, "midi-input-watch", poll_s) if self._inputs else None
        )

    def _maintain(self, now: float) -> float:
        with self._lock:
            for item in self._inputs:
                item.maintain(now)
            return next_due(self._inputs, now)

    def connected(self) -> dict[str, str | None]:
        """Input name -> the full port name it listens on, or None while it is missing."""
        return {item.name: item.target for item in self._inputs}

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
        with self._lock:
            for item in self._inputs:
                item.close()
