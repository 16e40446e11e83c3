"""The PulseAudio sound server as the room's outputs see it: there, and each output's sink
and stream able to reach a loudspeaker.

libVLC and SDL say when they cannot open an output, never when what they opened reaches no
one: PulseAudio's null sink (what it plays into without a sound card), a muted sink or
stream, a sink that vanished, a server that stopped. `SoundServerWatch` learns these from
the server itself, on a thread of its own: one `pactl subscribe` child, which costs nothing
while nothing changes and ends the moment the server goes. When something that can matter
changes (a stream or sink appears or changes, the default sink moves) it reads the sinks
and streams (`pactl -f json`), at most once a second, and only the streams when no sink
changed; a stream that goes is simply forgotten; a stream's own changes — its volume moves
with every fade step — are looked at at most every STREAM_CHANGE_S. While the server is
gone it is asked again every RETRY_S. Each output's verdict is reported when it changes,
as audio_fault / audio_restored (cause "pulse").

Streams are told apart by the names our backends give them (APP_NAMES, PulseAudio's
`application.name`) and by their process: this one, or a child of it (the staff chimes).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from setandsetting.backends.base import Report, audio_report

APP_NAMES = {
    "music": "setandsetting music",
    "patient_chimes": "setandsetting patient chimes",
    "staff_chimes": "setandsetting staff chimes",
}
PACTL_TIMEOUT_S = 3.0
CHECK_EVERY_S = 1.0  # the sinks and streams are read at most this often
# ...and for a change of a stream alone this often. Our own fades change our streams'
# volume several times a second, and each look is a pactl run (~7 ms of CPU): at 5 s the
# watch cost a session a sixth of its CPU (benchmarks/bench_engine.py). What else changes
# a stream (a person muting or moving it) is rare, and libVLC says at once when the music
# is muted (VlcMusic.poll).
STREAM_CHANGE_S = 60.0
RETRY_S = 2.0  # a server that is gone is asked again this often
GONE = "the PulseAudio sound server is not answering (stopped, or never started)"


@dataclass(frozen=True, slots=True)
class Sink:
    index: int
    name: str
    description: str
    driver: str
    mute: bool
    volume: float  # the loudest channel, 1.0 = 100 %
    monitor: str


@dataclass(frozen=True, slots=True)
class Stream:
    index: int
    sink: int
    app: str
    pid: int | None
    mute: bool


@dataclass(frozen=True, slots=True)
class Server:
    default_sink: str | None
    sinks: tuple[Sink, ...]
    streams: tuple[Stream, ...]

    def sink(self, name: str) -> Sink | None:
        """The sink a device name means: PulseAudio's name (libVLC) or description (SDL)."""
        return next((s for s in self.sinks if name in (s.name, s.description)), None)


def parse_server(info: Mapping[str, Any], listing: Mapping[str, Any]) -> Server:
    """`pactl -f json info` and `pactl -f json list` as a Server."""
    sinks = tuple(
        Sink(
            index=int(s["index"]),
            name=str(s["name"]),
            description=str(s.get("description") or s["name"]),
            driver=str(s.get("driver", "")),
            mute=bool(s.get("mute")),
            volume=max((_fraction(v) for v in (s.get("volume") or {}).values()), default=1.0),
            monitor=str(s.get("monitor_source") or f"{s['name']}.monitor"),
        )
        for s in listing.get("sinks", [])
    )
    return Server(info.get("default_sink_name") or None, sinks, parse_streams(listing))


def parse_streams(listing: Mapping[str, Any]) -> tuple[Stream, ...]:
    """The playback streams of `pactl -f json list` (or of `list sink-inputs`, a list)."""
    items = listing if isinstance(listing, list) else listing.get("sink_inputs", [])
    streams = []
    for item in items:
        props = item.get("properties") or {}
        pid = props.get("application.process.id")
        streams.append(
            Stream(
                index=int(item["index"]),
                sink=int(item["sink"]),
                app=str(props.get("application.name", "")),
                pid=int(pid) if str(pid).isdigit() else None,
                mute=bool(item.get("mute")),
            )
        )
    return tuple(streams)


def _fraction(channel: Any) -> float:
    """A channel volume of pactl's JSON (value 65536 = 100 %) as a fraction."""
    try:
        return int(channel["value"]) / 65536
    except (KeyError, TypeError, ValueError):
        return 1.0


def sink_trouble(sink: Sink) -> str | None:
    """Why nothing played into `sink` reaches a loudspeaker, or None."""
    if sink.driver == "module-null-sink.c":
        return f"PulseAudio plays it into {sink.description!r}, a null sink: no loudspeaker"
    if sink.mute:
        return f"the PulseAudio sink {sink.description!r} is muted"
    if sink.volume <= 0.0:
        return f"the PulseAudio sink {sink.description!r} is at volume 0 %"
    return None


def output_trouble(
    server: Server | None, output: str, sink_name: str | None, ours: Callable[[int | None], bool]
) -> str | None:
    """Why nothing `output` plays reaches a loudspeaker, or None: judged by its streams
    where it has some now, else by the sink it would play into (`sink_name`; None: the
    server's default)."""
    if server is None:
        return GONE
    streams = [s for s in server.streams if s.app == APP_NAMES[output] and ours(s.pid)]
    for stream in streams:
        if stream.mute:
            return "PulseAudio has its stream muted"
        sink = next((s for s in server.sinks if s.index == stream.sink), None)
        trouble = None if sink is None else sink_trouble(sink)
        if trouble is not None:
            return trouble
    if streams:
        return None
    name = sink_name or server.default_sink
    sink = None if name is None else server.sink(name)
    if sink is None:
        return f"PulseAudio has no sink {name!r}" if name else "PulseAudio has no sink at all"
    return sink_trouble(sink)


def expected_sink(device: str | None) -> str | None:
    """The sink an output plays into by itself: the device room.yaml names, else the
    client's PULSE_SINK, else (None) the server's default."""
    if device not in (None, "default"):
        return device
    return os.environ.get("PULSE_SINK") or None


def pactl_json(*args: str) -> Any:
    """One `pactl -f json` answer; raises OSError / CalledProcessError / TimeoutExpired /
    ValueError when the server does not give one."""
    done = subprocess.run(
        ["pactl", "-f", "json", *args],
        capture_output=True,
        text=True,
        timeout=PACTL_TIMEOUT_S,
        check=True,
    )
    return json.loads(done.stdout)


def read_server(last: Server | None = None) -> Server | None:
    """The server now, or None when it does not answer. Given the `last` one read, only
    its streams are read again (one pactl run, not two): its sinks are kept."""
    try:
        if last is not None:
            return replace(last, streams=parse_streams(pactl_json("list", "sink-inputs")))
        return parse_server(pactl_json("info"), pactl_json("list"))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return None


def pulse_expected() -> bool:
    """Whether PulseAudio is this machine's sound server: pactl is there and the
    environment points at a server (PULSE_SERVER or its socket) or one answers."""
    if shutil.which("pactl") is None:
        return False
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("PULSE_RUNTIME_PATH") or os.path.join(
        os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"), "pulse"
    )
    if Path(runtime, "native").exists():
        return True
    return read_server() is not None


def pulse_installed() -> bool:
    """Whether the PulseAudio server program is on this machine, running or not: then it
    is the sound server meant, and one that never started leaves libVLC no way out."""
    return shutil.which("pulseaudio") is not None


def sink_verdicts(outputs: Mapping[str, str]) -> dict[str, str | None] | None:
    """Why each output (name -> device) would reach no loudspeaker by the sound server's
    sinks now (None: it would), without playing anything; None where PulseAudio is not
    the sound server. For the preflight: a device that exists may still play into a null
    sink or a muted one, and every one is silent where PulseAudio is installed but was
    never started (the watch stays quiet there: the preflight is where it is said)."""
    if not pulse_expected():
        return {o: GONE for o in outputs} if pulse_installed() else None
    server = read_server()
    return {
        output: output_trouble(server, output, expected_sink(device), lambda _pid: False)
        for output, device in outputs.items()
    }


def sink_descriptions() -> list[str] | None:
    """The sound server's sinks by the names a person reads ("Built-in Audio Analog
    Stereo"), none where it is installed but not answering; None where PulseAudio is not
    the sound server (libVLC's own device names then say what there is)."""
    if not pulse_expected():
        return [] if pulse_installed() else None
    server = read_server()
    return [] if server is None else [s.description for s in server.sinks]


def is_ours(pid: int | None) -> bool:
    """A stream of this process or of a child of it (the staff chimes' mixer)."""
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid()


@dataclass(frozen=True, slots=True)
class _Look:
    """What a `pactl subscribe` line asks for: a look within `after` s, at the sinks too
    (else at the streams only); or, for a stream that went, only to forget it."""

    after: float
    sinks: bool = False
    gone: int | None = None


def _relevant(line: str) -> _Look | None:
    """The look a `pactl subscribe` line asks for; None for what cannot silence an output
    (clients, modules, sources: our own pactl calls are clients)."""
    words = line.replace("'", " ").replace("#", " ").split()  # Event 'change' on sink-input #3
    if len(words) < 5 or words[0] != "Event" or not words[4].isdigit():
        return None
    kind, facility, index = words[1], words[3], int(words[4])
    if facility == "sink-input":
        if kind == "remove":
            return _Look(0.0, gone=index)
        return _Look(STREAM_CHANGE_S if kind == "change" else CHECK_EVERY_S)
    if facility in ("sink", "server", "card"):
        return _Look(CHECK_EVERY_S, sinks=True)
    return None


class SoundServerWatch:
    """Watches PulseAudio for the outputs named (output -> device, None: the default) and
    reports each verdict change; never blocks the caller (its own thread does the work,
    and ends at once where PulseAudio is not the sound server)."""

    def __init__(self, report: Report, outputs: Mapping[str, str | None]) -> None:
        self._report = report
        self._outputs = {o: expected_sink(d) for o, d in outputs.items()}
        self._said: dict[str, str | None] = dict.fromkeys(self._outputs)  # None: sound
        self._wake_r, self._wake_w = os.pipe()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pulse-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        self._thread.join(timeout=PACTL_TIMEOUT_S + 2)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- the watch thread ----------------------------------------------------------------

    def _run(self) -> None:
        if not pulse_expected():  # another sound system: libVLC and SDL speak for it
            return
        while not self._closing.is_set():
            self._follow()
            select.select([self._wake_r], [], [], RETRY_S)  # close() wakes it early

    def _follow(self) -> None:
        """Judge now, then again after each change that can matter, until the server goes."""
        server = read_server()
        self._judge(server)
        if server is None:
            return
        cmd = ["pactl", "subscribe"]
        if shutil.which("setpriv"):  # the child ends with us, even after a SIGKILL
            cmd = ["setpriv", "--pdeathsig", "TERM", "--", *cmd]
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            return
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        buffered = b""
        last = time.monotonic()
        due: float | None = None
        sinks_too = False
        try:
            while not self._closing.is_set():
                now = time.monotonic()
                if due is not None and now >= due:
                    last, due = now, None
                    server = read_server(None if sinks_too or server is None else server)
                    sinks_too = False
                    self._judge(server)
                    continue
                wait = None if due is None else due - now
                ready, _, _ = select.select([fd, self._wake_r], [], [], wait)
                if fd not in ready:
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:  # the server went (or pactl did)
                    self._judge(None)
                    return
                *lines, buffered = (buffered + chunk).split(b"\n")
                for line in lines:
                    look = _relevant(line.decode(errors="replace"))
                    if look is None:
                        continue
                    if look.gone is not None and server is not None:  # nothing to ask
                        kept = tuple(s for s in server.streams if s.index != look.gone)
                        server = replace(server, streams=kept)
                        self._judge(server)
                        continue
                    at = max(now, last + look.after)
                    due = at if due is None else min(due, at)
                    sinks_too = sinks_too or look.sinks
        finally:
            stop_child(proc)

    def _judge(self, server: Server | None) -> None:
        for output, sink in self._outputs.items():
            trouble = output_trouble(server, output, sink, is_ours)
            if trouble == self._said[output]:
                continue
            before, self._said[output] = self._said[output], trouble
            source = "music" if output == "music" else "chimes"
            if trouble is not None:
                self._report(audio_report(source, output, "pulse", trouble, restored=False))
            elif before is not None:
                why = "PulseAudio reaches a sound output again"
                self._report(audio_report(source, output, "pulse", why, restored=True))


def stop_child(proc: subprocess.Popen[bytes]) -> None:
    """End a child of ours by its PID, and reap it."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
