"""MIDI environment cues (lights, diffusers) through python-rtmidi, encoded by mido.

Ports are named in room.yaml by a name PREFIX, because port numbers (and ALSA's client
numbers) change between boots. A prefix matches a port's full name (`QLC+:in 128:0`) or the
part after its client name (`jack-client:QLC+ in`).

Reconnect design: the engine's device thread must never wait on a device. Opening a MIDI
client costs 15-200 ms (JACK), so ports are opened and re-opened by one small daemon thread
per backend (the "watcher"), never by `send`. `send` only encodes, checks that the port it
is connected to still exists (a ~0.1 ms lookup on the already-open client) and writes; when
the port is not connected it raises CueError at once and wakes the watcher. The watcher
polls every `poll_s` (50 ms): it notices vanished ports (reports `device_lost`), reconnects
matching ports when they appear (reports `device_back` after a loss or a failed send) and
backs off from 0.5 s to 10 s while no MIDI system is reachable at all (sleeping meanwhile,
which is most of the CPU such a room would spend on MIDI). Limitation: a port
that vanishes and reappears between two polls with no send in between keeps its name but
loses our connection unnoticed; 50 ms makes that window small.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import mido
import rtmidi

from setandsetting.backends.base import (
    BackendReport,
    CueBackend,
    CueError,
    Report,
    configured_name,
)
from setandsetting.backends.native import quiet_native_libraries
from setandsetting.core.loader import model_from_doc
from setandsetting.core.problems import FormatError, format_path
from setandsetting.core.profile import MidiMessage
from setandsetting.core.yamlsource import YamlDoc

CLIENT_NAME = "setandsetting"
POLL_S = 0.05
BACKOFF_S = (0.5, 10.0)
# A JACK client closed right after a write can take the write with it: under load, 22 of
# 80 messages sent just before closing were lost here, 4 of 80 after waiting 0.1 s. The
# session's last cues (all notes off) are the ones at stake, so closing waits this long.
DRAIN_S = 0.1

_APIS = {
    "LINUX_ALSA": rtmidi.API_LINUX_ALSA,
    "UNIX_JACK": rtmidi.API_UNIX_JACK,
    "MACOSX_CORE": rtmidi.API_MACOSX_CORE,
    "WINDOWS_MM": rtmidi.API_WINDOWS_MM,
}


def api_ids(api: str | None) -> list[int]:
    """The rtmidi APIs to try, in order: the one named, or every API compiled in."""
    if api is None:
        return [a for a in rtmidi.get_compiled_api() if a != rtmidi.API_RTMIDI_DUMMY]
    key = api.upper().removeprefix("API_")
    if key not in _APIS:
        raise ValueError(f"unknown MIDI API {api!r}; use one of {', '.join(sorted(_APIS))}")
    return [_APIS[key]]


def open_client(
    kind: type[rtmidi.MidiOut] | type[rtmidi.MidiIn], api: str | None, name: str = CLIENT_NAME
) -> Any:
    """A MIDI client of the first API that works; raises CueError naming why none did."""
    quiet_native_libraries()  # why each API failed is in the CueError, once
    reasons = []
    for api_id in api_ids(api):
        try:
            return kind(api_id, name=name)
        except (rtmidi.RtMidiError, OSError) as exc:
            reasons.append(f"{rtmidi.get_api_display_name(api_id)}: {exc}")
    raise CueError("no MIDI system available (" + "; ".join(reasons or ["none compiled"]) + ")")


def list_ports(kind: type[rtmidi.MidiOut] | type[rtmidi.MidiIn], api: str | None) -> list[str]:
    """Names of the ports a client of `kind` can connect to (MidiOut: outputs to send to)."""
    client = open_client(kind, api, CLIENT_NAME + "-list")
    try:
        return list(client.get_ports())
    finally:
        client.delete()


def next_due(clients: Iterable[Any], now: float) -> float:
    """When a watcher next has work: now while any client is open (ports to watch), else
    when the first back-off ends (a wake() from a failed send comes sooner)."""
    return min((now if c.client is not None else c.next_try for c in clients), default=now)


def match_port(names: Iterable[str], prefix: str) -> str | None:
    """The first port whose full name, or name after `client:`, starts with `prefix`."""
    for name in names:
        if name.startswith(prefix) or name.partition(":")[2].startswith(prefix):
            return name
    return None


def _checked(payload: Any) -> MidiMessage:
    """A midi payload by the profile's own rules (core.profile.MidiMessage), so what a
    profile may write is exactly what can be sent; CueError says what is wrong in the words
    `validate` uses."""
    try:
        return model_from_doc(YamlDoc("midi cue", payload, {}, {}), MidiMessage)
    except FormatError as err:
        kind = payload.get("type") if isinstance(payload, Mapping) else None
        said = "; ".join(
            f"{format_path(p.path)}: {p.message}" if p.path else p.message for p in err.problems
        )
        raise CueError(
            f"MIDI {kind}: {said}" if isinstance(kind, str) else f"MIDI: {said}"
        ) from None


def build_message(payload: Mapping[str, Any]) -> mido.Message:
    """A cue's midi payload (channels 1-16) -> mido Message; CueError says what is wrong."""
    message = _checked(payload)
    if message.type == "control_change" and message.value is None:
        raise CueError(
            "MIDI control_change needs `value` (a ramp is sent by the engine as successive values)"
        )
    fields = message.used()
    if message.type == "sysex":
        return mido.Message("sysex", data=fields["data"])
    values = {k: v for k, v in fields.items() if k not in ("type", "port", "ramp")}
    values["channel"] -= 1  # mido counts channels from 0
    return mido.Message(message.type, **values)


class _Output:
    """One named output: its own rtmidi client, the port it is connected to, and its state."""

    def __init__(self, name: str, prefix: str, api: str | None, report: Report) -> None:
        self.name, self.prefix, self.api, self.report = name, prefix, api, report
        self.lock = threading.Lock()
        self.client: Any = None
        self.target: str | None = None
        self.owed_back = False  # a loss or failed send happened: report device_back on reconnect
        self.stale = False  # our port still points at a vanished target: close it first
        self.next_try = 0.0
        self.backoff = BACKOFF_S[0]
        self.written_at = -DRAIN_S  # monotonic time of the last message sent

    def _not_connected(self) -> CueError:
        self.owed_back = True
        return CueError(f"MIDI output {self.name!r} (port {self.prefix!r}*) is not connected")

    def write(self, data: list[int]) -> None:
        """Send raw bytes now or raise CueError; never opens or closes anything.

        While the port is not connected the watcher may hold the lock for slow JACK calls
        (close_port ~10 ms, open_port), so that state is checked before taking the lock.
        """
        if self.target is None:
            raise self._not_connected()
        with self.lock:
            lost = self.target
            if lost is None:
                raise self._not_connected()
            try:
                if lost in self.client.get_ports():
                    self.client.send_message(data)
                    self.written_at = time.monotonic()
                    return
                reason = "vanished"
            except (rtmidi.RtMidiError, OSError, ValueError) as exc:
                reason = f"failed: {exc}"
            self.target, self.owed_back, self.stale = None, True, True
        self.report(BackendReport("cues", "device_lost", message=self.name, data={"port": lost}))
        raise CueError(f"MIDI output {self.name!r} port {lost!r} {reason}")

    def maintain(self, now: float) -> None:
        """Watcher step: notice a vanished port, (re)connect a matching one."""
        if now < self.next_try:
            return
        if self.client is None:
            try:
                client = open_client(rtmidi.MidiOut, self.api)
            except CueError:
                self.next_try = now + self.backoff
                self.backoff = min(self.backoff * 2, BACKOFF_S[1])
                return
            with self.lock:
                self.client = client
        self.backoff = BACKOFF_S[0]
        events = []
        with self.lock:
            names = self.client.get_ports()
            if self.target is not None and self.target not in names:
                events.append(
                    BackendReport(
                        "cues", "device_lost", message=self.name, data={"port": self.target}
                    )
                )
                self.target, self.owed_back, self.stale = None, True, True
            if self.stale:
                self.client.close_port()
                self.stale = False
            if self.target is None and (found := match_port(names, self.prefix)):
                try:
                    self.client.open_port(names.index(found), self.name)
                except (rtmidi.RtMidiError, OSError):
                    return
                self.target = found
                if self.owed_back:
                    self.owed_back = False
                    events.append(
                        BackendReport(
                            "cues", "device_back", message=self.name, data={"port": found}
                        )
                    )
        for event in events:
            self.report(event)

    def close(self) -> None:
        with self.lock:
            if self.client is not None:
                self.client.close_port()
                self.client.delete()
            self.client, self.target = None, None


class PortWatcher:
    """A daemon thread calling `step(now)` every `poll_s` until closed; `wake()` hurries it.

    `step` returns when it next has work (monotonic seconds): while no MIDI system is
    reachable that is the end of its back-off, and the thread sleeps until then rather
    than waking 20 times a second for nothing.
    """

    def __init__(self, step: Callable[[float], float], name: str, poll_s: float = POLL_S) -> None:
        self._step, self._poll_s = step, poll_s
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            due = self._step(time.monotonic())
            self._wake.wait(max(self._poll_s, due - time.monotonic()))
            self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)


class MidiCues(CueBackend):
    """Sends MIDI cues to the outputs named in room.yaml (`midi.outputs`: name -> prefix).

    Ports are opened in the background from construction on; `wait_connected` lets a caller
    (session start, tests) wait for them. `send` never blocks on a device (see module doc).
    """

    def __init__(
        self,
        outputs: Mapping[str, str],
        report: Report,
        api: str | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        api_ids(api)  # a bad API name is a configuration error, said now
        for name, prefix in outputs.items():
            if not isinstance(prefix, str) or not prefix:
                raise ValueError(f"MIDI output {name!r}: the port name prefix must not be empty")
        self._api = api
        self._outputs = {n: _Output(n, p, api, report) for n, p in outputs.items()}
        self._watcher = (
            PortWatcher(self._maintain, "midi-cues-watch", poll_s) if self._outputs else None
        )

    def _maintain(self, now: float) -> float:
        for output in self._outputs.values():
            output.maintain(now)
        return next_due(self._outputs.values(), now)

    def wait_connected(self, timeout: float) -> bool:
        """Wait up to `timeout` s until every output is connected; True if they all are."""
        deadline = time.monotonic() + timeout
        while True:
            if all(o.target is not None for o in self._outputs.values()):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)

    def output_name(self, port: str | None) -> str:
        """The configured output a cue means: `port`, or the only one configured."""
        return configured_name(
            port, self._outputs, kind="MIDI output", named="MIDI port", key="midi.outputs"
        )

    def deliver(self, payload: Mapping[str, Any]) -> tuple[str, int | None]:
        """Send one midi payload; returns (output name, channel 1-16 or None for sysex)."""
        message = build_message(payload)
        name = self.output_name(payload.get("port"))
        self._write(name, message.bytes())
        channel = getattr(message, "channel", None)
        return name, None if channel is None else channel + 1

    def send(self, cue: dict[str, Any]) -> None:
        if set(cue) != {"midi"}:
            raise CueError("MidiCues sends only {'midi': {...}} cues")
        self.deliver(cue["midi"])

    def all_notes_off(self, channels: Iterable[int], port: str | None = None) -> None:
        """CC 123 (all notes off) on each channel (1-16) of one output, or of every output."""
        names = [self.output_name(port)] if port is not None else sorted(self._outputs)
        errors = []
        for name in names:
            for channel in sorted(set(channels)):
                message = build_message(
                    {"type": "control_change", "channel": channel, "control": 123, "value": 0}
                )
                try:
                    self._write(name, message.bytes())
                except CueError as exc:
                    errors.append(str(exc))
                    break
        if errors:
            raise CueError("; ".join(errors))

    def _write(self, name: str, data: list[int]) -> None:
        try:
            self._outputs[name].write(data)
        except CueError:
            if self._watcher is not None:
                self._watcher.wake()
            raise

    def ports(self) -> list[str]:
        """Output port names available now (opens a short-lived client: not for the engine)."""
        return list_ports(rtmidi.MidiOut, self._api)

    def close(self) -> None:
        """Close every port, once what was sent last has had DRAIN_S to leave."""
        if self._watcher is not None:
            self._watcher.close()
        last = max((o.written_at for o in self._outputs.values()), default=-DRAIN_S)
        time.sleep(max(0.0, last + DRAIN_S - time.monotonic()))
        for output in self._outputs.values():
            output.close()
