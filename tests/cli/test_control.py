"""The control commands against a real `setandsetting serve` process on an ephemeral port."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from setandsetting.cli import build_parser, main
from setandsetting.cli import control as control_module
from setandsetting.cli.control import control, status_lines
from setandsetting.core.controls import LEVEL_GRAMMAR, NEEDS_VALUE, USER_ACTIONS
from tests.support.daemon import free_port, make_api_room
from tests.support.processes import stop_gently


@pytest.fixture
def served_room(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """`serve --start short --patient P-0042` in its own process; stopped by PID."""
    room = make_api_room(tmp_path / "room")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    # No sound server: the daemon plays on, and says that no sound reaches the room.
    env = {**os.environ, "SDL_AUDIODRIVER": "dummy", "PULSE_SERVER": "unix:/nonexistent"}
    cmd = [sys.executable, "-m", "setandsetting", "--room", str(room), "serve", "--port", str(port)]
    cmd += ["--start", "short", "--patient", "P-0042"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                with urllib.request.urlopen(url + "/api/status", timeout=1) as r:
                    if json.load(r).get("running"):
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)
        yield room, url
    finally:
        stop_gently(proc)
        log.close()
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text()[-2000:]


def cli(room: Path, url: str, *args: str) -> int:
    return main(["--room", str(room), *args, "--url", url])


def test_controls_through_the_daemon(served_room: tuple[Path, str], capsys) -> None:  # type: ignore[no-untyped-def]
    room, url = served_room
    deadline = time.monotonic() + 5  # the sound server's watch speaks within a second
    while True:
        assert cli(room, url, "status") == 0
        out = capsys.readouterr().out.splitlines()
        labels = [line.split("  ")[0].strip() for line in out]
        if "patient chimes" in labels or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert labels[:7] == [
        "session", "phase", "elapsed", "remaining", "music", "patient chimes", "level"
    ]  # fmt: skip
    assert out[1].split(None, 1)[1] == "Settle (settle), 1 of 2"
    said = [line[len("patient chimes") :].strip() for line in out[4:6]]
    assert said[0].startswith("NO SOUND (")  # the server's watch or libVLC, whichever spoke first
    assert said[1] == (
        "NO SOUND (the PulseAudio sound server is not answering (stopped, or never started))"
    )
    assert out[6].split(None, 1)[1] == "40%"

    deadline = time.monotonic() + 6  # the staff vitals check-in at 2s waits for an ack
    while True:
        assert cli(room, url, "status") == 0
        out = capsys.readouterr().out
        if "WAITING" in out:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "vitals: BP (ack settle.0.0, " in out  # and how overdue
    assert cli(room, url, "ack") == 0
    assert "acknowledged" in capsys.readouterr().out

    assert cli(room, url, "note", "eyes", "closed,", "calm") == 0
    assert capsys.readouterr().out.endswith("note: eyes closed, calm\n")

    assert cli(room, url, "extend", "10m") == 2
    assert capsys.readouterr().err == "settle is not extendable\n"
    assert cli(room, url, "next") == 0
    assert "phase deep started" in capsys.readouterr().out
    assert cli(room, url, "extend", "30s") == 0
    assert "phase deep extended by 30s" in capsys.readouterr().out
    assert cli(room, url, "level", "+5%") == 0
    assert "(nudge +5%)" in capsys.readouterr().out

    assert cli(room, url, "stop") == 0
    assert "session ended" in capsys.readouterr().out
    assert cli(room, url, "extend", "5m") == 2  # refused while the music fades, then no session
    assert capsys.readouterr().err in ("no session is running\n", "the session has ended\n")
    assert cli(room, url, "status") == 2
    assert capsys.readouterr().err in (
        "no session is running\n",
        "the session has ended (stopped)\n",
    )


def test_no_daemon_is_one_clear_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{free_port()}"
    assert cli(tmp_path, url, "status") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"the room daemon is not running at {url} (")
    assert err.endswith("start it with `setandsetting serve`\n") and err.count("\n") == 1


def test_the_control_commands_are_the_text_forms_actions() -> None:
    """One list of actions (core/controls.py) for the CLI, the API and `--control`."""
    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    controls = {name for name, p in commands.choices.items() if p.get_default("func") is control}
    assert controls == set(USER_ACTIONS)
    for action in USER_ACTIONS:
        if action == "level":  # its value may begin with a dash: main takes it back
            assert parser.parse_args([action]).value is None
        elif action in NEEDS_VALUE:
            with pytest.raises(SystemExit):
                parser.parse_args([action])
        else:
            assert parser.parse_args([action]).action == action


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, object]]:
    """What the control commands would send the daemon (none is asked)."""
    calls: list[tuple[str, str, object]] = []

    def request(_args: argparse.Namespace, method: str, path: str, body: object = None) -> dict:
        calls.append((method, path, body))
        return {"events": []}

    monkeypatch.setattr(control_module, "request", request)
    return calls


URL = ["--url", "http://127.0.0.1:1"]


@pytest.mark.parametrize(
    ("argv", "value"),
    [
        (["level", "up"], "up"),  # the one 2 dB step, parsed by the daemon as the API's
        (["level", "down"], "down"),
        (["level", "-6dB"], "-6dB"),
        (["level", "+3dB"], "+3dB"),
        (["level", "-5%"], "-5%"),
        (["level", "40%"], "40%"),
        (["level", "--", "-6dB"], "-6dB"),
        (["level", *URL, "-6dB"], "-6dB"),
        (["level", "-6dB", *URL], "-6dB"),
    ],
)
def test_a_level_is_sent_as_written_without_a_double_dash(
    sent: list[tuple[str, str, object]], argv: list[str], value: str
) -> None:
    assert main(argv) == 0
    assert sent == [("POST", "/api/control", {"action": "level", "value": value})]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["level", "5"], f"'level 5' is not a level change; {LEVEL_GRAMMAR}"),
        (["level", "-5"], f"'level -5' is not a level change; {LEVEL_GRAMMAR}"),
        (["level"], f"level needs a change or a level; {LEVEL_GRAMMAR}"),
        (["level", "-90dB"], "level -90dB: a change is at most 40dB either way"),
        (["extend", "soon"], "'soon' is not a duration; write e.g. 90s"),
    ],
)
def test_a_mistyped_control_is_refused_before_the_daemon_is_asked(
    sent: list[tuple[str, str, object]],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    line: str,
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert (out, sent) == ("", [])
    assert err.startswith(line) and err.count("\n") == 1, err


def test_two_level_values_are_refused_by_argparse(sent: list[tuple[str, str, object]]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["level", "-6dB", "+3dB"])
    assert exited.value.code == 2 and sent == []


@pytest.mark.parametrize(
    ("argv", "body"),
    [
        (["ack", "bp=132/84", "hr=72"], {"action": "ack", "value": "bp=132/84 hr=72"}),
        (
            ["ack", "arrival.0.0", "spo2=97", "note=calm,", "talking"],
            {"action": "ack", "value": "arrival.0.0 spo2=97 note=calm, talking"},
        ),
        (["ack"], {"action": "ack", "value": None}),
        (
            ["dose", "esketamine", "56mg", "lot=A123"],
            {"action": "dose", "value": "esketamine 56mg lot=A123"},
        ),
        (["ready"], {"action": "ready", "value": None}),
        (["stop"], {"action": "stop", "value": None}),
        (["stop", "asked", "to", "leave"], {"action": "stop", "value": "asked to leave"}),
    ],
)
def test_the_clinical_controls_are_sent_as_written(
    sent: list[tuple[str, str, object]], argv: list[str], body: dict
) -> None:
    assert main([*argv, *URL]) == 0
    assert sent == [("POST", "/api/control", body)]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["ack", "bp=300/20"], "bp=300/20: systolic 300 is not plausible (60-260 mm[Hg])\n"),
        (["ack", "hr=abc"], "hr=abc: write a whole number (25-250 /min)\n"),
        (["ack", "spo2=120"], "spo2=120: 120 is not plausible (50-100 %)\n"),
        (
            ["dose", "esketamine"],
            "dose esketamine needs an amount, e.g. 56mg; write dose NAME AMOUNT [route=R] "
            "[lot=L], e.g. dose esketamine 56mg lot=A123\n",
        ),
        (["dose", "ketamin", "35mg"], "unknown medication 'ketamin' (did you mean 'ketamine'?)\n"),
    ],
)
def test_implausible_readings_and_bad_doses_are_refused_before_the_daemon_is_asked(
    sent: list[tuple[str, str, object]],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    line: str,
) -> None:
    assert main([*argv, *URL]) == 2
    out, err = capsys.readouterr()
    assert (out, err, sent) == ("", line, [])


def test_status_shows_the_time_since_the_dose_and_the_latest_alerts() -> None:
    from setandsetting.core import session
    from setandsetting.core.controls import parse_control
    from setandsetting.core.status import snapshot
    from tests.support.timelines import timeline

    tl = timeline({"name": "s", "phases": [{"id": "dosing", "duration": "open"}]})
    state, _ = session.start(tl)
    state, _ = session.apply(state, parse_control("dose ketamine 35mg"), 60.0)
    state, _ = session.apply(state, parse_control("ack spo2=90"), 90.0)
    snap = {"session_id": "S", "patient": "P", "profile": "s", **snapshot(state, 150.0)}
    lines = control_module.status_lines(snap)
    assert [line for line in lines if line.startswith(("since", "ALERT"))] == [
        "ALERT           SpO2 90% below 92% (at 0:01:30)",
        "since the dose  0:01:30",
    ]


def test_next_says_which_checkins_still_wait_and_dismiss_sends_id_and_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[object] = []
    waiting = {"id": "peak.0.1", "kind": "vitals", "message": "BP", "due_t": 90.0}
    waiting |= {"phase": "peak", "overdue_s": 130.0}
    advanced = {"type": "phase_advanced", "t": 220.0, "phase": "peak", "pending": ["peak.0.1"]}

    def request(_args: argparse.Namespace, method: str, path: str, body: object = None) -> dict:
        calls.append(body)
        return {"events": [advanced], "pending": [waiting]}

    monkeypatch.setattr(control_module, "request", request)
    assert main(["next", *URL]) == 0
    assert capsys.readouterr().out == (
        "  0:03:40  moved on from peak early; still waiting: peak.0.1\n"
        "STILL WAITING  vitals: BP (due 0:01:30 in peak, 2m10s overdue; ack peak.0.1 or "
        "dismiss peak.0.1 REASON)\n"
    )
    assert main(["dismiss", "peak.0.1", "taken", "by", "hand", *URL]) == 0
    assert calls[-1] == {"action": "dismiss", "value": "peak.0.1 taken by hand"}
    assert main(["dismiss", "peak.0.1", *URL]) == 2
    assert capsys.readouterr().err.startswith("dismissing a check-in needs a reason")


def test_status_says_who_and_when_and_what_waits_from_another_phase() -> None:
    snap = {
        "session_id": "S1", "patient": "P-0042", "display_name": "Ann (demo)",
        "profile": "demo", "profile_name": "Demo, six minutes", "phase_index": 3,
        "phases": [{}] * 7, "phase": "peak", "phase_name": "Peak", "t": 200.0,
        "remaining": 100.0, "now_playing": {"title": "Drift"}, "music": "playing",
        "audio_faults": [], "level": 0.6, "nudge_pct": 0.0, "dose_t": 45.0,
        "pending": [{"id": "dosing.0.0", "kind": "dose", "message": "Record the dose time",
                     "overdue_s": 155.0}],
        "next_checkin": {"t": 210.0, "kind": "vitals", "audience": "staff", "phase": "peak"},
        "next_phase": {"id": "stillness", "name": "Stillness", "t": 300.0},
        "session_end": None,
    }  # fmt: skip
    assert status_lines(snap) == [
        "session         S1  patient P-0042 (Ann (demo))  profile demo (Demo, six minutes)",
        "phase           Peak (peak), 4 of 7",
        "elapsed         0:03:20",
        "remaining       1m40s in this phase",
        "now playing     Drift",
        "level           60%",
        "WAITING         dose: Record the dose time (ack dosing.0.0, 2m35s overdue)",
        "next check-in   vitals in 10s (staff)",
        "since the dose  0:02:35",
        "up next         Stillness at 0:05:00",
        "session ends    open (when you stop)",
    ]
