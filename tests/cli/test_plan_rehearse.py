"""`plan` and `rehearse` on the repository's own room (profiles/, playlists/)."""

import json
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import pytest

from setandsetting.cli import build_parser, main
from setandsetting.cli.common import compiled
from setandsetting.core.plan import simulate

ROOM = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _in_room(monkeypatch):
    monkeypatch.chdir(ROOM)


def test_plan_json_has_the_contract_fields(capsys):
    assert main(["plan", "profiles/demo.yaml", "--patient", "P-0042", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [(p["id"], p["start_s"], p["end_s"]) for p in plan["phases"]] == [
        ("arrival", 0.0, 45.0),
        ("dosing", 45.0, 75.0),
        ("onset", 75.0, 120.0),
        ("peak", 120.0, 240.0),
        ("stillness", 240.0, 260.0),
        ("return", 260.0, 320.0),
        ("integration", 320.0, None),
    ]
    assert {"phase", "path", "start_s", "duration_s"} <= set(plan["tracks"][0])
    assert [(c["at_s"], c["kind"]) for c in plan["checkins"][:4]] == [
        (45.0, "dose"),
        (95.0, "breath"),
        (135.0, "vitals"),
        (165.0, "vitals"),
    ]
    assert {"at_s", "phase", "kind"} <= set(plan["cues"][0])
    assert "phase integration: open-ended; it runs until the clinician moves on" in plan["warnings"]


def test_plan_applies_the_patient_override_and_avoid_list(capsys):
    main(["plan", "profiles/demo.yaml", "--patient", "P-0042", "--json"])
    plan = json.loads(capsys.readouterr().out)
    peak = [t for t in plan["tracks"] if t["phase"] == "peak"]
    assert peak[0]["path"].endswith("music/demo/peak-3.flac")
    assert peak[0]["offset_s"] == 10.0  # the patient's trim
    assert not any("Return II" in t["title"] for t in plan["tracks"])
    assert any("removed (on the patient's avoid list)" in w for w in plan["warnings"])


def test_plan_table_is_readable(capsys):
    assert main(["plan", "profiles/demo.yaml", "--patient", "P-0042"]) == 0
    out = capsys.readouterr().out
    assert "peak              0:02:00  0:04:00       2m  2m" in out
    assert "0:00:45  check-in dosing        dose for staff, ack required" in out


def test_rehearse_json_lines_follow_the_event_vocabulary(capsys):
    code = main(
        [
            "rehearse",
            "profiles/demo.yaml",
            "--patient",
            "P-0042",
            "--json",
            "--control",
            "2m20s:ack",
            "--control",
            "3m:extend 1m",
            "--control",
            "6m:stop",
        ]
    )
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all({"type", "t", "wall"} <= set(e) for e in events)
    assert events[0]["type"] == "session_started"
    assert events[-1] == {**events[-1], "type": "session_ended", "reason": "stopped", "t": 360.0}
    acked = [e for e in events if e["type"] == "checkin_acknowledged"]
    acks = [(e["t"], e["id"], e["latency_s"]) for e in acked]
    assert acks == [(140.0, "dosing.0.0", 95.0), (140.0, "peak.0.2", 5.0)]  # the dose waited
    ext = next(e for e in events if e["type"] == "phase_extended")
    assert (ext["phase"], ext["by_s"], ext["new_end_t"]) == ("peak", 60.0, 300.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--patient", "../etc"], "--patient: '../etc' is not a patient ID"),
        (["--patient", "P-1", "--control", "5m:jump"], "unknown action 'jump'"),
        (["--patient", "P-1", "--control", "soon:next"], "is not a duration"),
    ],
)
def test_rehearse_bad_input_exits_2_with_one_clear_line(capsys, args, message):
    assert main(["rehearse", "profiles/demo.yaml", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_a_broken_profile_exits_2_with_its_position(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nphases:\n  - id: a\n    duration: 5 minutes\n")
    assert main(["plan", str(bad), "--patient", "P-1"]) == 2
    assert capsys.readouterr().err.startswith(f"{bad}:4:15: phases[0].duration:")


def test_a_profile_is_named_the_same_way_in_plan_and_rehearse(capsys, tmp_path, monkeypatch):
    assert main(["plan", "profiles/demo.yaml", "--patient", "P-0042", "--json"]) == 0
    by_path = capsys.readouterr().out
    assert main(["plan", "demo", "--patient", "P-0042", "--json"]) == 0
    assert capsys.readouterr().out == by_path
    monkeypatch.chdir(tmp_path)  # elsewhere: the room's own name, or its path in the room
    for name in ("demo", "demo.yaml", "profiles/demo.yaml"):
        assert main(["--room", str(ROOM), "plan", name, "--patient", "P-0042", "--json"]) == 0
        assert capsys.readouterr().out == by_path
    assert main(["--room", str(ROOM), "rehearse", "demo", "--patient", "P-0042"]) == 0
    assert "session ended" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["plan", "rehearse"])
def test_a_profile_named_nowhere_is_one_clear_line(capsys, command):
    assert main([command, "dmo", "--patient", "P-0042"]) == 2
    assert capsys.readouterr() == (
        "",
        f"no profile 'dmo': no such file, nor a name in {ROOM / 'profiles'} "
        "(did you mean 'demo'?)\n",
    )


HUGE = ROOM / "tests" / "fixtures" / "broken" / "huge-phase.yaml"


@pytest.mark.parametrize("command", ["plan", "rehearse"])
def test_a_billion_hour_phase_is_refused_within_a_second(capsys, command):
    build_parser()  # the commands' own imports are not what is timed here
    started = time.perf_counter()
    code = main([command, str(HUGE), "--patient", "P-0042"])
    elapsed = time.perf_counter() - started
    assert code == 2
    assert capsys.readouterr() == (
        "",
        f"{HUGE}:6:15: phases[1].duration: 1000000000h is too long: a phase lasts at most 24h "
        "(or write `open`)\n",
    )
    assert elapsed < 1.0


def test_rehearse_runs_as_a_process_without_a_traceback():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "setandsetting",
            "rehearse",
            "profiles/im-ketamine.yaml",
            "--patient",
            "P-0042",
            "--control",
            "40m:extend 10m",
            "--control",
            "1h:next",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOM,
    )
    assert proc.returncode == 0, proc.stderr
    assert "session ended" in proc.stdout


# When each profile's session ends, run without controls: its open last phase followed for
# the core's open horizon (an hour, or on to its floor and last planned check-in).
ENDS = {
    "demo.yaml": 320.0 + 3600.0,
    "esketamine-intranasal.yaml": 8100.0 + 3600.0,
    "im-ketamine.yaml": 6300.0 + 3600.0,
    "iv-infusion.yaml": 4800.0 + 3600.0,
    "psilocybin-long.yaml": 24300.0 + 3600.0,
    "sublingual-troche.yaml": 6600.0 + 3600.0,
}


def test_every_profile_is_pinned_below():
    assert sorted(p.name for p in (ROOM / "profiles").glob("*.yaml")) == sorted(ENDS)


@pytest.mark.parametrize("name", sorted(ENDS))
def test_plan_and_rehearse_of_a_profile_end_at_the_same_time(capsys, name):
    args = Namespace(room=".", profile=f"profiles/{name}", patient="P-0042", seed=None)
    planned = simulate(compiled(args).timeline)[-1]
    assert main(["rehearse", f"profiles/{name}", "--patient", "P-0042", "--json"]) == 0
    rehearsed = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (planned.type, planned.t, planned.data) == (
        "session_ended",
        ENDS[name],
        {"reason": "stopped"},
    )
    assert (rehearsed["type"], rehearsed["t"], rehearsed["reason"]) == (
        "session_ended",
        ENDS[name],
        "stopped",
    )


def test_plan_of_esketamine_lists_every_spo2_check(capsys):
    """Observation's check every 15 min (sedation, dissociation, SpO2) from 1:45:00: the
    one at 2:00:00 (the next would fall at the phase's end, 2:15:00, its floor)."""
    profile = "profiles/esketamine-intranasal.yaml"
    assert main(["plan", profile, "--patient", "P-0042", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [(c["at_s"], c["phase"], c["kind"]) for c in plan["checkins"]] == [
        (600.0, "arrival", "bp"),
        (900.0, "dosing", "device"),
        (1200.0, "dosing", "device"),
        (1500.0, "dosing", "device"),
        (3300.0, "peak", "bp"),
        (7200.0, "observation", "verbal"),
        (8100.0, "discharge", "vitals"),
    ]
    assert [c["at_s"] for c in plan["checkins"] if "SpO2" in c["message"]] == [7200.0]


def test_a_patient_with_no_folder_is_warned_of_not_refused(capsys):
    warning = (
        "no patient P-9999 in this room: the default music and no avoid list; check the ID "
        "unless this is a new patient"
    )
    assert main(["plan", "profiles/demo.yaml", "--patient", "P-9999", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"][0] == warning
    assert main(["plan", "profiles/demo.yaml", "--patient", "P-0042", "--json"]) == 0
    assert not any("no patient" in w for w in json.loads(capsys.readouterr().out)["warnings"])
    assert main(["validate", "profiles/demo.yaml", "--patient", "P-9999"]) == 0
    assert capsys.readouterr() == ("1 file OK\n", f"warning: {warning}\n")
