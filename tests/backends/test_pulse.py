"""The sound server's watch: verdicts from pactl's JSON, and the watch on a real server."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from setandsetting.backends import pulse as pulse_module
from setandsetting.backends.base import BackendReport
from setandsetting.backends.pulse import (
    APP_NAMES,
    GONE,
    Server,
    SoundServerWatch,
    output_trouble,
    parse_server,
    read_server,
)
from tests.support.pulse import PIPE_SINK, PulseCapture, pulse

__all__ = ["pulse"]  # the fixture is used by name


def sink_json(index: int, name: str, **kw: Any) -> dict[str, Any]:
    volume = kw.pop("volume", 65536)
    return {
        "index": index,
        "name": name,
        "description": kw.pop("description", name.title()),
        "driver": kw.pop("driver", "module-alsa-card.c"),
        "mute": kw.pop("mute", False),
        "volume": {"front-left": {"value": volume}, "front-right": {"value": volume // 2}},
        "monitor_source": f"{name}.monitor",
    }


def stream_json(sink: int, app: str, pid: int, mute: bool = False) -> dict[str, Any]:
    props = {"application.name": app, "application.process.id": str(pid)}
    return {"index": 7, "sink": sink, "mute": mute, "properties": props}


SPEAKERS = sink_json(0, "speakers", description="Built-in Audio")
NULL = sink_json(1, "auto_null", description="Dummy Output", driver="module-null-sink.c")
OURS = 4242


def server(*streams: dict[str, Any], default: str = "speakers", **sinks: Any) -> Server:
    listing = {"sinks": sinks.get("sinks", [SPEAKERS, NULL]), "sink_inputs": list(streams)}
    return parse_server({"default_sink_name": default}, listing)


def trouble(srv: Server | None, output: str = "music", sink: str | None = None) -> str | None:
    return output_trouble(srv, output, sink, lambda pid: pid == OURS)


def test_pactl_json_is_read_into_sinks_and_streams() -> None:
    srv = server(stream_json(0, APP_NAMES["music"], OURS))
    assert srv.default_sink == "speakers"
    assert srv.sinks[0].volume == 1.0  # the loudest channel
    assert srv.sinks[1].driver == "module-null-sink.c"
    assert srv.sink("Dummy Output") is srv.sink("auto_null") is srv.sinks[1]  # SDL, libVLC
    assert [(s.index, s.sink, s.app, s.pid, s.mute) for s in srv.streams] == [
        (7, 0, "setandsetting music", OURS, False)
    ]


def test_a_stream_is_judged_by_the_sink_it_plays_into() -> None:
    assert trouble(server(stream_json(0, APP_NAMES["music"], OURS))) is None
    assert trouble(server(stream_json(1, APP_NAMES["music"], OURS))) == (
        "PulseAudio plays it into 'Dummy Output', a null sink: no loudspeaker"
    )
    assert trouble(server(stream_json(0, APP_NAMES["music"], OURS, mute=True))) == (
        "PulseAudio has its stream muted"
    )
    # Another room's music on the null sink, our chimes' stream: neither is our music.
    others = server(stream_json(1, APP_NAMES["music"], 99), stream_json(1, "x", OURS))
    assert trouble(others) is None  # judged by the default sink, the speakers


def test_without_a_stream_the_sink_it_would_play_into_is_judged() -> None:
    assert trouble(server(default="auto_null")) == (
        "PulseAudio plays it into 'Dummy Output', a null sink: no loudspeaker"
    )
    muted = [sink_json(0, "speakers", description="Built-in Audio", mute=True)]
    assert trouble(server(sinks=muted)) == "the PulseAudio sink 'Built-in Audio' is muted"
    silent = [sink_json(0, "speakers", description="Built-in Audio", volume=0)]
    assert trouble(server(sinks=silent)) == (
        "the PulseAudio sink 'Built-in Audio' is at volume 0 %"
    )
    missing = trouble(server(), "staff_chimes", "USB Speaker")
    assert missing == "PulseAudio has no sink 'USB Speaker'"
    assert trouble(server(), "staff_chimes", "Built-in Audio") is None
    assert trouble(server(sinks=[], default="")) == "PulseAudio has no sink at all"
    assert trouble(None) == GONE


EVERY, STREAM = pulse_module.CHECK_EVERY_S, pulse_module.STREAM_CHANGE_S
Look = pulse_module._Look


@pytest.mark.parametrize(
    ("line", "look"),
    [
        ("Event 'new' on sink-input #3", Look(EVERY)),  # the streams only
        ("Event 'remove' on sink-input #3", Look(0.0, gone=3)),  # forgotten, nothing asked
        ("Event 'change' on sink-input #3", Look(STREAM)),  # mostly our own fade steps
        ("Event 'change' on sink #1", Look(EVERY, sinks=True)),  # the sinks too
        ("Event 'change' on server #4294967295", Look(EVERY, sinks=True)),
        ("Event 'new' on client #8", None),  # our own pactl calls
        ("Event 'change' on source #2", None),
        ("garbage", None),
    ],
)
def test_only_what_can_silence_an_output_asks_for_a_look(line: str, look: Look | None) -> None:
    assert pulse_module._relevant(line) == look


class Heard:
    """The watch's reports, from its thread, waited for by the test."""

    def __init__(self) -> None:
        self.items: list[tuple[float, BackendReport]] = []
        self._cond = threading.Condition()

    def __call__(self, report: BackendReport) -> None:
        with self._cond:
            self.items.append((time.monotonic(), report))
            self._cond.notify_all()

    def wait(self, count: int, timeout: float) -> list[tuple[str, str, str]]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.items) >= count, timeout)
            return [(r.kind, r.data["output"], r.message) for _, r in self.items]  # type: ignore[index]


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def watch(pulse: PulseCapture, heard: Heard) -> Iterator[SoundServerWatch]:
    w = SoundServerWatch(heard, {"music": None, "patient_chimes": None})
    try:
        yield w
    finally:
        w.close()


def pactl(*args: str) -> None:
    subprocess.run(["pactl", *args], check=True, capture_output=True, timeout=5)


@pytest.mark.audio
def test_a_muted_sink_and_a_stopped_server_are_said_within_seconds(
    pulse: PulseCapture, heard: Heard, watch: SoundServerWatch
) -> None:
    time.sleep(0.5)
    assert heard.items == []  # a working server: nothing to say
    pactl("set-sink-mute", PIPE_SINK, "1")
    t0 = time.monotonic()
    muted = f"the PulseAudio sink {read_server().sink(PIPE_SINK).description!r} is muted"  # type: ignore[union-attr]
    assert heard.wait(2, 3.0) == [
        ("audio_fault", "music", muted),
        ("audio_fault", "patient_chimes", muted),
    ]
    assert heard.items[-1][0] - t0 < 1.5
    pactl("set-sink-mute", PIPE_SINK, "0")
    back = "PulseAudio reaches a sound output again"
    assert heard.wait(4, 3.0)[2:] == [
        ("audio_restored", "music", back),
        ("audio_restored", "patient_chimes", back),
    ]
    t0 = time.monotonic()
    pulse.stop()
    assert heard.wait(6, 3.0)[4:] == [
        ("audio_fault", "music", GONE),
        ("audio_fault", "patient_chimes", GONE),
    ]
    print(f"server gone said after {heard.items[-1][0] - t0:.3f} s")
    assert heard.items[-1][0] - t0 < 1.0
    pulse.restart()
    assert heard.wait(8, 2 * pulse_module.RETRY_S + 3.0)[6:] == [
        ("audio_restored", "music", back),
        ("audio_restored", "patient_chimes", back),
    ]


@pytest.mark.audio
def test_a_muted_stream_is_said_and_forgotten_when_it_goes(
    pulse: PulseCapture, heard: Heard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream of ours (a child process naming itself as our music does) is muted, then
    ends: the fault is said, and taken back from the removal alone."""
    monkeypatch.setattr(pulse_module, "STREAM_CHANGE_S", 0.5)  # else one look per 30 s
    w = SoundServerWatch(heard, {"music": None})
    with open("/dev/zero", "rb") as zeros:  # an endless stream of silence
        stream = subprocess.Popen(
            ["pacat", "--raw", f"--property=application.name={APP_NAMES['music']}"],
            stdin=zeros,
        )
    try:
        time.sleep(1.5)  # the watch has seen the stream come (into the pipe sink: fine)
        assert heard.items == []
        listed = pulse_module.pactl_json("list", "sink-inputs")
        pactl("set-sink-input-mute", str(listed[0]["index"]), "1")
        assert heard.wait(1, 3.0) == [("audio_fault", "music", "PulseAudio has its stream muted")]
        reads: list[object] = []
        monkeypatch.setattr(pulse_module, "read_server", lambda *a: reads.append(a))
        stream.kill()
        stream.wait()
        assert heard.wait(2, 3.0)[1:] == [
            ("audio_restored", "music", "PulseAudio reaches a sound output again")
        ]
        assert reads == []  # the removal said it all: no pactl run
    finally:
        if stream.poll() is None:
            stream.kill()
            stream.wait()
        w.close()


def test_where_pulseaudio_is_not_the_sound_server_the_watch_stays_quiet(
    heard: Heard, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in ("PULSE_SERVER", "PULSE_RUNTIME_PATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no socket there
    (tmp_path / "client.conf").write_text("autospawn = no\n")
    monkeypatch.setenv("PULSE_CLIENTCONFIG", str(tmp_path / "client.conf"))
    w = SoundServerWatch(heard, {"music": None})
    time.sleep(1.0)
    w.close()
    assert heard.items == []
